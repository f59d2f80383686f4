FROM alpine:3.20
RUN set -e; \
	echo x && \
	echo y
RUN echo one && \
	echo two
