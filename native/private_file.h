// Files the addon writes (the verifier log) follow the rule of every file
// forkline writes (src/pipeline/output-file.ts): a new file created O_EXCL,
// mode 0600 (mkostemp), in the target's directory, renamed onto the target
// once written. A symbolic link or a non-regular file at the target is
// refused; a link planted meanwhile is replaced by the rename, never
// followed (the default log path is in /tmp, where anyone can plant one).
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

namespace forkline {

// Writes data to path as above; false with *why set when it cannot.
inline bool write_private_file(const std::string& path, const std::string& data, std::string* why) {
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (S_ISLNK(st.st_mode)) {
      *why = path + " is a symbolic link (never written through)";
      return false;
    }
    if (!S_ISREG(st.st_mode)) {
      *why = path + " exists and is not a regular file";
      return false;
    }
  }
  std::string tmpl = path + ".XXXXXX";
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  int fd = mkostemp(name.data(), O_CLOEXEC);  // O_CREAT|O_EXCL, mode 0600
  if (fd < 0) {
    *why = std::string("cannot create ") + name.data() + ": " + std::strerror(errno);
    return false;
  }
  bool ok = true;
  for (size_t off = 0; off < data.size();) {
    ssize_t n = write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
      *why = std::string("cannot write ") + name.data() + ": " + std::strerror(errno);
      break;
    }
    off += static_cast<size_t>(n);
  }
  if (close(fd) != 0 && ok) {
    ok = false;
    *why = std::string("cannot write ") + name.data() + ": " + std::strerror(errno);
  }
  if (ok && rename(name.data(), path.c_str()) != 0) {
    ok = false;
    *why = "cannot rename onto " + path + ": " + std::strerror(errno);
  }
  if (!ok) unlink(name.data());
  return ok;
}

}  // namespace forkline
