/* dockopt e2e sample: a tiny HTTP server in C, linked against OpenSSL's libcrypto.
 *
 *   hello --version    prints the version and the OpenSSL it runs with
 *   hello --selftest   serves one request on an ephemeral port and fetches /health
 *   hello [--serve]    serves on $PORT (default 8080)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "1.0.0"

static void digest_hex(const char *text, char out[65]) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_Digest(text, strlen(text), md, &n, EVP_sha256(), NULL);
    for (unsigned int i = 0; i < n && i < 32; i++) sprintf(out + 2 * i, "%02x", md[i]);
    out[64] = '\0';
}

static void handle(int client) {
    char req[1024];
    ssize_t got = read(client, req, sizeof req - 1);
    req[got > 0 ? got : 0] = '\0';
    char body[160], hex[65], head[256];
    int status = strncmp(req, "GET /health ", 12) == 0 ? 200 : 404;
    digest_hex("c-hello", hex);
    if (status == 200)
        snprintf(body, sizeof body, "{\"status\":\"ok\",\"sha256\":\"%.12s\"}\n", hex);
    else
        snprintf(body, sizeof body, "not found\n");
    int len = snprintf(head, sizeof head,
                       "HTTP/1.0 %d %s\r\nContent-Type: application/json\r\n"
                       "Content-Length: %zu\r\n\r\n",
                       status, status == 200 ? "OK" : "Not Found", strlen(body));
    if (write(client, head, (size_t)len) < 0 || write(client, body, strlen(body)) < 0)
        perror("write");
    close(client);
}

static int listen_on(int port, int *bound) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(port ? INADDR_ANY : INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) {
        perror("listen");
        exit(1);
    }
    socklen_t size = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &size);
    *bound = ntohs(addr.sin_port);
    return fd;
}

static int selftest(void) {
    int port;
    int fd = listen_on(0, &port);
    pid_t child = fork();
    if (child == 0) {
        int c = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (connect(c, (struct sockaddr *)&addr, sizeof addr) < 0) {
            perror("connect");
            _exit(1);
        }
        const char *get = "GET /health HTTP/1.0\r\n\r\n";
        if (write(c, get, strlen(get)) < 0) _exit(1);
        char buf[1024];
        size_t total = 0;
        ssize_t n;
        while ((n = read(c, buf + total, sizeof buf - 1 - total)) > 0) total += (size_t)n;
        buf[total] = '\0';
        int status = 0;
        sscanf(buf, "HTTP/1.0 %d", &status);
        const char *body = strstr(buf, "\r\n\r\n");
        printf("selftest: %d %s", status, body ? body + 4 : "\n");
        fflush(stdout);
        _exit(status == 200 ? 0 : 1);
    }
    int client = accept(fd, NULL, NULL);
    handle(client);
    int wstatus = 0;
    waitpid(child, &wstatus, 0);
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 1;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("c-hello %s (%s)\n", VERSION, OpenSSL_version(OPENSSL_VERSION));
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--selftest") == 0) return selftest();
    const char *env = getenv("PORT");
    int port;
    int fd = listen_on(env ? atoi(env) : 8080, &port);
    printf("c-hello listening on %d\n", port);
    fflush(stdout);
    for (;;) {
        int client = accept(fd, NULL, NULL);
        if (client >= 0) handle(client);
    }
}
