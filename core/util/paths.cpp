#include "util/paths.hpp"

#include "util/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sys/stat.h>

namespace rk {

std::string mgr5_root() {
    const char* root = std::getenv("MGR5_ROOT");
    return (root != nullptr && *root != '\0') ? root : "/usr/local/mgr5";
}

std::string config_path() {
    return mgr5_root() + "/etc/pmrobokassa.conf";
}
std::string var_dir() {
    return mgr5_root() + "/var";
}
std::string database_path() {
    return var_dir() + "/pmrobokassa.db";
}
std::string log_path(const std::string& program) {
    return var_dir() + "/" + program + ".log";
}

void ensure_var_dir() {
    const std::string dir = var_dir();
    if (::mkdir(dir.c_str(), 0750) == 0 || errno == EEXIST) {
        return;
    }
    throw Error(ErrorKind::store_unavailable, "",
                "cannot create " + dir + ": " + std::strerror(errno));
}

} // namespace rk
