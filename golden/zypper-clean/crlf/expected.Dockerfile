FROM opensuse/leap:15.6
RUN zypper -n in curl && zypper clean
