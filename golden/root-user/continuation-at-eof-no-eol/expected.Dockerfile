FROM debian:bookworm
RUN groupadd --system --gid 10001 app && useradd --system --no-log-init --uid 10001 --gid app --create-home --home-dir /home/app --shell /usr/sbin/nologin app
CMD ["/usr/local/bin/app"]
RUN make -C /src \
    && make -C /src install
USER 10001:10001