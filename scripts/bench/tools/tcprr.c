/*
 * TCP request/response latency, for the benchmarks: `tcprr -s PORT` echoes one
 * byte per request; `tcprr -c HOST PORT N` sends N one-byte requests, one at a
 * time, and prints "n=N p50_us=… p99_us=… mean_us=…". Built static so it runs
 * in the lab's busybox image.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_us(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e6 + t.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

static int serve(int port) {
  int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(ls, (struct sockaddr *)&a, sizeof a) || listen(ls, 16)) { perror("tcprr: listen"); return 1; }
  for (;;) {
    int c = accept(ls, 0, 0);
    if (c < 0) continue;
    nodelay(c);
    char b;
    while (read(c, &b, 1) == 1) if (write(c, &b, 1) != 1) break;
    close(c);
  }
}

static int client(const char *host, int port, int n) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) { fprintf(stderr, "tcprr: bad address %s\n", host); return 2; }
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) { perror("tcprr: connect"); return 1; }
  nodelay(fd);
  double *s = malloc(sizeof(double) * n), sum = 0;
  char b = 'x';
  for (int i = 0; i < n; i++) {
    double t = now_us();
    if (write(fd, &b, 1) != 1 || read(fd, &b, 1) != 1) { fprintf(stderr, "tcprr: connection lost after %d\n", i); return 1; }
    s[i] = now_us() - t;
    sum += s[i];
  }
  qsort(s, n, sizeof(double), cmp);
  printf("n=%d p50_us=%.1f p99_us=%.1f mean_us=%.1f\n", n, s[n / 2], s[(int)(n * 0.99)], sum / n);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "-s")) return serve(atoi(argv[2]));
  if (argc == 5 && !strcmp(argv[1], "-c")) return client(argv[2], atoi(argv[3]), atoi(argv[4]));
  fprintf(stderr, "usage: tcprr -s PORT | tcprr -c HOST PORT N\n");
  return 2;
}
