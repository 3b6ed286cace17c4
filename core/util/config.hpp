#pragma once

#include "util/log.hpp"

#include <optional>
#include <string>

namespace rk {

// Settings from $MGR5_ROOT/etc/pmrobokassa.conf (docs/interface.md §2). Defaults
// apply when the file or a key is absent.
struct Config {
    std::optional<std::string> manager_url;
    int log_level = log::k_default_level;
    std::string opstate_url =
        "https://auth.robokassa.ru/Merchant/WebService/Service.asmx/OpStateExt";
    std::string recurring_url = "https://auth.robokassa.ru/Merchant/Recurring";
    std::string refund_url = "https://services.robokassa.ru/RefundService/Refund/Create";
    int checkpay_min_age = 300;
    std::string stripe_api_url = "https://api.stripe.com";
    // How long a writer waits for SQLite's lock before the CGI answers 503.
    int busy_timeout_ms = 5000;
    // Seconds an outbound call to Robokassa may take.
    int http_timeout = 30;
    // Where payments live: our own store (standalone, the default) or a
    // BILLmanager reached through mgrctl (panel mode, docs/panel-mode.md).
    enum class Billing { standalone, panel } billing = Billing::standalone;
    // mgrctl's path in panel mode; empty: $MGR5_ROOT/sbin/mgrctl.
    std::string mgrctl;
    // Seconds one mgrctl call may take before it is killed.
    int mgrctl_timeout = 20;
    // Whether saving a method asks Robokassa if its credentials are right,
    // and how many seconds that may take in all before the method is
    // accepted unchecked.
    bool check_credentials = true;
    int check_timeout = 5;
    // checkpay deletes journal entries older than this many days.
    int journal_retention_days = 400;
};

// Reads `path` with Boost.Program_options. A missing file gives defaults;
// an unknown key or a bad value throws bad_input naming the key.
Config load_config(const std::string& path);
// load_config(config_path()).
Config load_config();

} // namespace rk
