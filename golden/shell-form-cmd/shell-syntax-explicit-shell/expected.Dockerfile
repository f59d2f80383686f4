FROM alpine:3.20
CMD ["/bin/sh", "-c", "echo $HOME"]
CMD ["/bin/sh", "-c", "nginx -g 'daemon off;'"]
CMD ["/bin/sh", "-c", "a && b"]
CMD ["/bin/sh", "-c", "run > /log"]
CMD ["/bin/sh", "-c", "ls *.txt"]
CMD ["/bin/sh", "-c", "FOO=1 app"]
CMD ["/bin/sh", "-c", "exec app"]
CMD ["/bin/sh", "-c", "cd /x"]
