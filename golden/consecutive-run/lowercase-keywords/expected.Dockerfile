from debian:12
run echo a && \
    echo b
