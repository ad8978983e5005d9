// Fork storm driver of the live storm test: for the given seconds, fork
// children as fast as possible; odd children exec /bin/true, even ones
// _exit(0) at once. Prints "forks execs" (the ground truth) at the end.
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char** argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 10;
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  long forks = 0, execs = 0, failed = 0;
  char* const true_argv[] = {"/bin/true", NULL};
  char* const env[] = {NULL};
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if ((now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9 >= seconds) break;
    int do_exec = forks & 1;
    pid_t pid = fork();
    if (pid == 0) {
      if (do_exec) execve("/bin/true", true_argv, env);
      _exit(0);
    }
    if (pid < 0) {
      failed++;
      continue;
    }
    forks++;
    if (do_exec) execs++;
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) failed++;
  }
  printf("%ld %ld %ld\n", forks, execs, failed);
  return 0;
}
