FROM debian:12-slim
RUN echo hello
CMD ["echo"]
