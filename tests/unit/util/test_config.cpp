// util/config.hpp: $MGR5_ROOT/etc/pmrobokassa.conf.
#include "unit_support.hpp"
#include "util/config.hpp"
#include "util/paths.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

using rk::test::error_from;

namespace {

class ConfigFile : public rk::test::Mgr5RootTest {
protected:
    void write_config(const std::string& text) {
        ::mkdir((m_root / "etc").c_str(), 0755);
        rk::test::write_file(rk::config_path(), text);
    }
    // The field of the bad_input error loading `text` throws.
    std::string refused_field(const std::string& text) {
        write_config(text);
        auto error = error_from([] { rk::load_config(); });
        if (!error) {
            ADD_FAILURE() << "accepted: " << text;
            return "<accepted>";
        }
        EXPECT_EQ(error->kind(), rk::ErrorKind::bad_input) << text;
        return error->field();
    }
};

} // namespace

TEST_F(ConfigFile, LivesUnderMgr5Root) {
    EXPECT_EQ(rk::config_path(), m_root / "etc/pmrobokassa.conf");
    EXPECT_EQ(rk::database_path(), m_root / "var/pmrobokassa.db");
    EXPECT_EQ(rk::log_path("rkresult"), m_root / "var/rkresult.log");
}

TEST_F(ConfigFile, AbsentFileGivesDefaults) {
    ASSERT_FALSE(rk::test::exists(rk::config_path()));
    const rk::Config config = rk::load_config();
    EXPECT_FALSE(config.manager_url);
    EXPECT_EQ(config.log_level, 6);
    EXPECT_EQ(config.opstate_url,
              "https://auth.robokassa.ru/Merchant/WebService/Service.asmx/OpStateExt");
    EXPECT_EQ(config.recurring_url, "https://auth.robokassa.ru/Merchant/Recurring");
    EXPECT_EQ(config.refund_url, "https://services.robokassa.ru/RefundService/Refund/Create");
    EXPECT_EQ(config.checkpay_min_age, 300);
    EXPECT_EQ(config.stripe_api_url, "https://api.stripe.com");
    EXPECT_GT(config.busy_timeout_ms, 0);
    EXPECT_GT(config.http_timeout, 0);
}

TEST_F(ConfigFile, EmptyFileGivesDefaults) {
    write_config("# nothing set\n\n");
    const rk::Config config = rk::load_config();
    EXPECT_FALSE(config.manager_url);
    EXPECT_EQ(config.log_level, 6);
    EXPECT_EQ(config.checkpay_min_age, 300);
}

TEST_F(ConfigFile, ReadsEveryKey) {
    write_config("# pmrobokassa\n"
                 "manager_url = https://my.example.com/billmgr\n"
                 "log_level = 9\n"
                 "opstate_url = http://127.0.0.1:8081/OpStateExt\n"
                 "recurring_url = https://rk.example.net/Recurring\n"
                 "refund_url=https://rk.example.net/Refund/Create\n"
                 "checkpay_min_age = 0\n"
                 "stripe_api_url = http://localhost:12111\n"
                 "busy_timeout_ms = 250\n"
                 "http_timeout = 7\n"
                 "check_credentials = off\n"
                 "check_timeout = 2\n"
                 "journal_retention_days = 30\n");
    const rk::Config config = rk::load_config();
    EXPECT_EQ(config.manager_url, "https://my.example.com/billmgr");
    EXPECT_EQ(config.log_level, 9);
    EXPECT_EQ(config.opstate_url, "http://127.0.0.1:8081/OpStateExt");
    EXPECT_EQ(config.recurring_url, "https://rk.example.net/Recurring");
    EXPECT_EQ(config.refund_url, "https://rk.example.net/Refund/Create");
    EXPECT_EQ(config.checkpay_min_age, 0);
    EXPECT_EQ(config.stripe_api_url, "http://localhost:12111");
    EXPECT_EQ(config.busy_timeout_ms, 250);
    EXPECT_EQ(config.http_timeout, 7);
    EXPECT_FALSE(config.check_credentials);
    EXPECT_EQ(config.check_timeout, 2);
    EXPECT_EQ(config.journal_retention_days, 30);
}

TEST_F(ConfigFile, CredentialCheckAndRetentionDefaults) {
    const rk::Config config = rk::load_config();
    EXPECT_TRUE(config.check_credentials);
    EXPECT_EQ(config.check_timeout, 5);
    EXPECT_EQ(config.journal_retention_days, 400);
    EXPECT_EQ(refused_field("check_credentials = maybe\n"), "check_credentials");
    EXPECT_EQ(refused_field("check_timeout = 0\n"), "check_timeout");
    EXPECT_EQ(refused_field("check_timeout = 61\n"), "check_timeout");
    EXPECT_EQ(refused_field("journal_retention_days = 0\n"), "journal_retention_days");
}

TEST_F(ConfigFile, ReadsAnExplicitPath) {
    rk::test::write_file(m_root / "other.conf", "log_level = 3\n");
    EXPECT_EQ(rk::load_config(m_root / "other.conf").log_level, 3);
    EXPECT_EQ(rk::load_config(m_root / "missing.conf").log_level, 6);
}

TEST_F(ConfigFile, RefusesUnknownKeyNamingIt) {
    EXPECT_EQ(refused_field("log_level = 5\ncolour = blue\n"), "colour");
    EXPECT_EQ(refused_field("manager_urll = https://my.example.com/\n"), "manager_urll");
}

TEST_F(ConfigFile, RefusesBadLogLevelNamingIt) {
    for (const char* value : {"0", "10", "x", "-1", "6x", "", "99999999999999999999"}) {
        EXPECT_EQ(refused_field(std::string("log_level = ") + value + "\n"), "log_level") << value;
    }
}

TEST_F(ConfigFile, RefusesOtherBadNumbersNamingThem) {
    EXPECT_EQ(refused_field("checkpay_min_age = -1\n"), "checkpay_min_age");
    EXPECT_EQ(refused_field("busy_timeout_ms = 0\n"), "busy_timeout_ms");
    EXPECT_EQ(refused_field("http_timeout = never\n"), "http_timeout");
}

TEST_F(ConfigFile, PanelModeIsChosenInTheConfig) {
    EXPECT_EQ(rk::load_config().billing, rk::Config::Billing::standalone);
    write_config("billing = panel\nmgrctl = /opt/mgr5/sbin/mgrctl\nmgrctl_timeout = 3\n");
    const rk::Config config = rk::load_config();
    EXPECT_EQ(config.billing, rk::Config::Billing::panel);
    EXPECT_EQ(config.mgrctl, "/opt/mgr5/sbin/mgrctl");
    EXPECT_EQ(config.mgrctl_timeout, 3);
    write_config("billing = standalone\n");
    EXPECT_EQ(rk::load_config().billing, rk::Config::Billing::standalone);
}

TEST_F(ConfigFile, RefusesBadPanelSettingsNamingThem) {
    EXPECT_EQ(refused_field("billing = Panel\n"), "billing");
    EXPECT_EQ(refused_field("billing = mgrctl\n"), "billing");
    EXPECT_EQ(refused_field("mgrctl = sbin/mgrctl\n"), "mgrctl");
    EXPECT_EQ(refused_field("mgrctl_timeout = 0\n"), "mgrctl_timeout");
}

TEST_F(ConfigFile, RefusesAKeyGivenTwice) {
    EXPECT_EQ(refused_field("log_level = 5\nlog_level = 6\n"), "log_level");
}

TEST_F(ConfigFile, ManagerUrlMustBeHttpsOnAPublicHost) {
    EXPECT_EQ(refused_field("manager_url = http://my.example.com/billmgr\n"), "manager_url");
    EXPECT_EQ(refused_field("manager_url = my.example.com/billmgr\n"), "manager_url");
    EXPECT_EQ(refused_field("manager_url = javascript:alert(1)\n"), "manager_url");

    write_config("manager_url = https://my.example.com/billmgr\n");
    EXPECT_EQ(rk::load_config().manager_url, "https://my.example.com/billmgr");
    write_config("manager_url = http://127.0.0.1:1500/billmgr\n");
    EXPECT_EQ(rk::load_config().manager_url, "http://127.0.0.1:1500/billmgr");
}

TEST_F(ConfigFile, ManagerUrlMayNotCarryAQuery) {
    EXPECT_EQ(refused_field("manager_url = https://my.example.com/billmgr?func=x\n"),
              "manager_url");
    EXPECT_EQ(refused_field("manager_url = https://my.example.com/billmgr?\n"), "manager_url");
}

// In the file '#' starts a comment (Boost.Program_options), so a fragment
// never reaches the redirects built from manager_url.
TEST_F(ConfigFile, HashStartsAComment) {
    write_config("manager_url = https://my.example.com/billmgr#top\nlog_level = 5 # quieter\n");
    const rk::Config config = rk::load_config();
    EXPECT_EQ(config.manager_url, "https://my.example.com/billmgr");
    EXPECT_EQ(config.log_level, 5);
}

TEST_F(ConfigFile, ServiceUrlsMustBeHttpsOrLoopback) {
    EXPECT_EQ(refused_field("opstate_url = http://auth.robokassa.ru/OpStateExt\n"), "opstate_url");
    EXPECT_EQ(refused_field("recurring_url = ftp://127.0.0.1/\n"), "recurring_url");
    EXPECT_EQ(refused_field("refund_url = \n"), "refund_url");
    EXPECT_EQ(refused_field("stripe_api_url = http://api.stripe.com\n"), "stripe_api_url");
}
