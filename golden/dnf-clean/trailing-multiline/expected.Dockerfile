FROM fedora:40
RUN dnf -y upgrade && \
    dnf -y install git && \
    dnf clean all
