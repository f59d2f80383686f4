FROM fedora:40
RUN dnf install -y httpd || exit 1 && dnf clean all
