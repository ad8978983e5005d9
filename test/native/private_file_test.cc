// Drives native/private_file.h (the verifier log's writer) and prints one
// JSON line per case for private-file.test.ts.
#include "private_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

static std::string slurp(const std::string& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

static int mode_of(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777) : -1;
}

static bool is_link(const std::string& p) {
  struct stat st;
  return lstat(p.c_str(), &st) == 0 && S_ISLNK(st.st_mode);
}

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  std::string dir = argv[1];
  std::string why;
  // a 0644 file at the target is replaced by a 0600 one
  std::string f = dir + "/log";
  { std::ofstream(f) << "old"; }
  chmod(f.c_str(), 0644);
  bool ok = forkline::write_private_file(f, "verifier says no", &why);
  std::printf("{\"case\":\"replace\",\"ok\":%s,\"mode\":%d,\"content\":\"%s\"}\n", ok ? "true" : "false", mode_of(f), slurp(f).c_str());
  // a symbolic link at the target is refused, what it points to untouched
  std::string victim = dir + "/victim";
  { std::ofstream(victim) << "keep"; }
  std::string link = dir + "/linked";
  symlink(victim.c_str(), link.c_str());
  why.clear();
  ok = forkline::write_private_file(link, "attacker", &why);
  std::printf("{\"case\":\"link\",\"ok\":%s,\"stillLink\":%s,\"victim\":\"%s\",\"why\":\"%s\"}\n", ok ? "true" : "false",
              is_link(link) ? "true" : "false", slurp(victim).c_str(), why.c_str());
  // a missing directory: refused, nothing left behind
  why.clear();
  ok = forkline::write_private_file(dir + "/none/log", "x", &why);
  std::printf("{\"case\":\"missing\",\"ok\":%s,\"hasWhy\":%s}\n", ok ? "true" : "false", why.empty() ? "false" : "true");
  return 0;
}
