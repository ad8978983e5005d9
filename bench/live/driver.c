// Load driver of `npm run bench:live`: forks children that exec /bin/true,
// at a fixed rate (fork+exec per second) or, with rate 0, as fast as the
// machine allows, for the given seconds. Each child is waited for before
// the next one starts (one in flight per driver; the bench runs one driver
// per core for a storm). Prints "forks execs failed" at the end: the ground
// truth the bench compares with what the agent counted.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s RATE_PER_SECOND SECONDS (rate 0: as fast as possible)\n", argv[0]);
    return 2;
  }
  double rate = atof(argv[1]), seconds = atof(argv[2]);
  char* const true_argv[] = {"/bin/true", NULL};
  char* const env[] = {NULL};
  long forks = 0, failed = 0;
  double start = now_s(), end = start + seconds;
  for (;;) {
    double t = now_s();
    if (t >= end) break;
    if (rate > 0) {
      // an absolute schedule: a late child does not push back the next ones
      double due = start + forks / rate;
      if (due > t) {
        double wait = due - t;
        struct timespec ts = {(time_t)wait, (long)((wait - (time_t)wait) * 1e9)};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
        continue;
      }
    }
    pid_t pid = fork();
    if (pid == 0) {
      execve("/bin/true", true_argv, env);
      _exit(127);
    }
    if (pid < 0) {
      failed++;
      continue;
    }
    forks++;
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  printf("%ld %ld %ld\n", forks, forks - failed, failed);
  return 0;
}
