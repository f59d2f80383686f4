FROM opensuse/leap:15.6
RUN zypper --non-interactive in curl && zypper clean
