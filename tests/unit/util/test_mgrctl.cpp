// The mgrctl client: a real child process, shell scripts standing in for
// BILLmanager's mgrctl.
#include "unit_support.hpp"
#include "util/mgrctl.hpp"

#include <boost/property_tree/ptree.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <map>
#include <sys/stat.h>
#include <vector>

namespace rk {
namespace {

using test::TempDir;
namespace pt = boost::property_tree;

class MgrctlTest : public ::testing::Test {
protected:
    // An executable script standing in for mgrctl.
    std::string script(const std::string& body) {
        std::string path = m_dir / "mgrctl";
        test::write_file(path, "#!/bin/sh\n" + body);
        ::chmod(path.c_str(), 0700);
        return path;
    }

    TempDir m_dir;
};

TEST_F(MgrctlTest, PassesEachParameterAsOneArgumentWithoutAShell) {
    // Echoes its argv back, one <arg> per argument.
    std::string path = script("echo '<doc>'; for a in \"$@\"; do "
                              "v=$(printf '%s' \"$a\" | sed 's/&/\\&amp;/g; s/</\\&lt;/g'); "
                              "printf '<arg>%s</arg>' \"$v\"; done; echo '</doc>'\n");
    Mgrctl mgrctl(path, 5);
    pt::ptree doc = mgrctl.call(
        "payment.setpaid",
        {{"elid", "12"}, {"info", "OutSum=1 $(touch x); `id` 'q' \"d\""}, {"externalid", ""}});
    std::vector<std::string> args;
    for (const auto& [name, node] : doc) {
        args.push_back(node.data());
    }
    std::vector<std::string> expected = {"-m",
                                         "billmgr",
                                         "-o",
                                         "xml",
                                         "payment.setpaid",
                                         "elid=12",
                                         "info=OutSum=1 $(touch x); `id` 'q' \"d\"",
                                         "externalid="};
    EXPECT_EQ(args, expected);
    EXPECT_FALSE(test::exists(m_dir / "x")) << "a shell expanded a value";
}

TEST_F(MgrctlTest, TheRequestEnvironmentDoesNotReachMgrctl) {
    test::ScopedEnv cookie("HTTP_COOKIE", "billmgrses5=secret");
    std::string path = script("printf '<doc><cookie>%s</cookie></doc>' \"${HTTP_COOKIE:-none}\"\n");
    pt::ptree doc = Mgrctl(path, 5).call("payment.info", {{"elid", "1"}});
    EXPECT_EQ(doc.get<std::string>("cookie"), "none");
}

TEST_F(MgrctlTest, AnErrorDocumentIsReturnedForTheCallerToJudge) {
    std::string path = script("echo '<doc><error type=\"missing\" object=\"payment\">"
                              "<msg>not found</msg></error></doc>'; exit 1\n");
    pt::ptree doc = Mgrctl(path, 5).call("payment.info", {{"elid", "404"}});
    EXPECT_EQ(error_type(doc), "missing");
    EXPECT_EQ(error_summary(doc), "missing (payment): not found");
}

TEST_F(MgrctlTest, ACleanAnswerHasNoErrorType) {
    std::string path = script("echo '<?xml version=\"1.0\"?><doc><ok/></doc>'\n");
    pt::ptree doc = Mgrctl(path, 5).call("payment.setinpay", {{"elid", "1"}});
    EXPECT_EQ(error_type(doc), "");
    EXPECT_EQ(error_summary(doc), "");
}

void expect_upstream(const std::function<void()>& call, const std::string& fragment) {
    try {
        call();
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::upstream);
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

TEST_F(MgrctlTest, FailuresAreUpstreamErrors) {
    expect_upstream([&] { Mgrctl(m_dir / "absent", 5).call("payment.info", {}); }, "cannot start");
    std::string path = script("echo 'mgrctl: core is not running' >&2; exit 1\n");
    expect_upstream([&] { Mgrctl(path, 5).call("payment.info", {}); }, "exited with code 1");
    path = script("echo 'not xml at all'\n");
    expect_upstream([&] { Mgrctl(path, 5).call("payment.info", {}); }, "not a <doc>");
    // A <doc> without an error but a failing exit status is not a success.
    path = script("echo '<doc><ok/></doc>'; exit 2\n");
    expect_upstream([&] { Mgrctl(path, 5).call("payment.setpaid", {}); }, "exited with code 2");
    path = script("kill -9 $$\n");
    expect_upstream([&] { Mgrctl(path, 5).call("payment.info", {}); }, "killed by signal 9");
    expect_upstream(
        [&] {
            Mgrctl(path, 5).call("payment.info", {{"el=id", "1"}});
        },
        "cannot be passed");
}

TEST_F(MgrctlTest, AHangingMgrctlIsKilledAtTheTimeout) {
    // The child holds stdout open while it sleeps: only the deadline ends it.
    std::string path = script("echo $$ > '" + (m_dir / "pid") + "'; exec sleep 30\n");
    auto start = std::chrono::steady_clock::now();
    expect_upstream([&] { Mgrctl(path, 1).call("payment.info", {}); }, "no answer within 1 s");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(5));
    pid_t pid = std::stoi(test::read_file(m_dir / "pid"));
    EXPECT_NE(::kill(pid, 0), 0) << "mgrctl " << pid << " outlived its call";
}

TEST_F(MgrctlTest, AMgrctlThatAnswersButDoesNotExitIsKilledAtTheTimeout) {
    // stdout is closed, so reading ends; waiting for the exit must not
    // outlast the deadline either, or the CGI hangs until the web server
    // gives up, holding the store's write lock.
    std::string path = script("echo $$ > '" + (m_dir / "pid") +
                              "'; echo '<doc><ok/></doc>'; exec >&-; exec sleep 30\n");
    auto start = std::chrono::steady_clock::now();
    expect_upstream([&] { Mgrctl(path, 1).call("payment.info", {}); },
                    "answered but did not exit within 1 s");
    auto took = std::chrono::steady_clock::now() - start;
    EXPECT_LT(took, std::chrono::seconds(5));
    pid_t pid = std::stoi(test::read_file(m_dir / "pid"));
    EXPECT_NE(::kill(pid, 0), 0) << "mgrctl " << pid << " outlived its call";
}

// payment.info ---------------------------------------------------------

// With SIGCHLD ignored the kernel reaps the child itself and waitpid fails:
// how mgrctl ended is then unknown, which must not pass for a clean exit.
TEST_F(MgrctlTest, AWaitpidFailureIsAnErrorNotACleanExit) {
    std::string path = script("echo '<doc><ok/></doc>'\n");
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    struct sigaction old {};
    ::sigaction(SIGCHLD, &ignore, &old);
    try {
        Mgrctl(path, 5).call("payment.setpaid", {});
        ::sigaction(SIGCHLD, &old, nullptr);
        FAIL() << "an unknown exit passed for success";
    } catch (const Error& e) {
        ::sigaction(SIGCHLD, &old, nullptr);
        EXPECT_EQ(e.kind(), ErrorKind::upstream);
        EXPECT_NE(std::string(e.what()).find("waitpid failed"), std::string::npos) << e.what();
    }
}

} // namespace
} // namespace rk
