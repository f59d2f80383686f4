FROM opensuse/leap:15
RUN zypper install -y curl; \
    zypper clean; \
    exit 0
