FROM centos:7
RUN exec > /tmp/log 2>&1 && yum install -y httpd && yum clean all
