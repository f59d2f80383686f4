FROM centos:7
RUN sudo yum install -y httpd && sudo yum clean all
