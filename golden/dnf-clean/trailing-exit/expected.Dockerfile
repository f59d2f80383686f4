FROM fedora:40
RUN dnf install -y httpd; dnf clean all ; exit 0
