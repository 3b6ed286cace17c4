#include "util/config.hpp"

#include "util/error.hpp"
#include "util/paths.hpp"
#include "util/url.hpp"

#include <boost/program_options.hpp>
#include <fstream>

namespace rk {

namespace po = boost::program_options;

namespace {

void require_range(const char* key, int value, int min, int max) {
    if (value < min || value > max) {
        throw bad_input(key, "must be from " + std::to_string(min) + " to " + std::to_string(max));
    }
}

void require_url(const char* key, const std::string& value) {
    if (!is_https_or_loopback_url(value)) {
        throw bad_input(key, "must be an https:// URL (http:// only for a loopback host)");
    }
}

} // namespace

Config load_config(const std::string& path) {
    Config config;
    std::ifstream in(path);
    if (!in) {
        return config;
    }
    std::string manager_url;
    std::string billing = "standalone";
    std::string check_credentials = "on";
    po::options_description keys;
    keys.add_options()("manager_url", po::value(&manager_url))(
        "log_level", po::value(&config.log_level))("opstate_url", po::value(&config.opstate_url))(
        "recurring_url", po::value(&config.recurring_url))(
        "refund_url", po::value(&config.refund_url))("checkpay_min_age",
                                                     po::value(&config.checkpay_min_age))(
        "stripe_api_url", po::value(&config.stripe_api_url))("busy_timeout_ms",
                                                             po::value(&config.busy_timeout_ms))(
        "http_timeout", po::value(&config.http_timeout))("billing", po::value(&billing))(
        "mgrctl", po::value(&config.mgrctl))("mgrctl_timeout", po::value(&config.mgrctl_timeout))(
        "check_credentials", po::value(&check_credentials))("check_timeout",
                                                            po::value(&config.check_timeout))(
        "journal_retention_days", po::value(&config.journal_retention_days));
    po::variables_map vm;
    try {
        po::store(po::parse_config_file(in, keys, false), vm);
        po::notify(vm);
    } catch (const po::unknown_option& e) {
        throw bad_input(e.get_option_name(), "is not a known key in " + path);
    } catch (const po::error_with_option_name& e) {
        throw bad_input(e.get_option_name(), std::string("has a bad value in ") + path);
    } catch (const po::error& e) {
        throw bad_input(path, e.what());
    }
    if (vm.count("manager_url") != 0) {
        require_url("manager_url", manager_url);
        // Redirects append "?func=…": a URL that already has a query or a
        // fragment would turn them into something else.
        if (manager_url.find_first_of("?#") != std::string::npos) {
            throw bad_input("manager_url", "must not contain '?' or '#'");
        }
        config.manager_url = manager_url;
    }
    require_range("log_level", config.log_level, 1, 9);
    require_range("checkpay_min_age", config.checkpay_min_age, 0, 30 * 24 * 3600);
    require_range("busy_timeout_ms", config.busy_timeout_ms, 1, 600000);
    require_range("http_timeout", config.http_timeout, 1, 600);
    require_range("mgrctl_timeout", config.mgrctl_timeout, 1, 600);
    require_range("check_timeout", config.check_timeout, 1, 60);
    require_range("journal_retention_days", config.journal_retention_days, 1, 36500);
    if (check_credentials == "off") {
        config.check_credentials = false;
    } else if (check_credentials != "on") {
        throw bad_input("check_credentials", "must be 'on' or 'off'");
    }
    if (billing == "panel") {
        config.billing = Config::Billing::panel;
    } else if (billing != "standalone") {
        throw bad_input("billing", "must be 'standalone' or 'panel'");
    }
    if (!config.mgrctl.empty() && config.mgrctl.front() != '/') {
        throw bad_input("mgrctl", "must be an absolute path");
    }
    require_url("opstate_url", config.opstate_url);
    require_url("recurring_url", config.recurring_url);
    require_url("refund_url", config.refund_url);
    require_url("stripe_api_url", config.stripe_api_url);
    return config;
}

Config load_config() {
    return load_config(config_path());
}

} // namespace rk
