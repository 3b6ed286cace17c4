#pragma once

#include <string>

namespace rk {

// $MGR5_ROOT, or /usr/local/mgr5 when unset or empty.
std::string mgr5_root();
std::string config_path();   // <root>/etc/pmrobokassa.conf
std::string var_dir();       // <root>/var
std::string database_path(); // <root>/var/pmrobokassa.db
std::string log_path(const std::string& program);

// Creates <root>/var with mode 0750 when missing; throws store_unavailable
// when it cannot.
void ensure_var_dir();

} // namespace rk
