// core/robokassa_api.hpp: the OpStateExt question and the credential check
// where they need no Robokassa (the emulator suites ask it for real).
#include "robokassa/robokassa_api.hpp"
#include "robokassa/signature.hpp"
#include "unit_support.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

rk::MethodSettings settings() {
    rk::MethodSettings s;
    s.shop_id = "demo";
    s.password1 = "Passw0rdOne";
    s.password2 = "Passw0rdTwo";
    s.test_password1 = "Test0passOne";
    s.test_password2 = "Test0passTwo";
    s.hash_algorithm = rk::HashAlgorithm::md5;
    return s;
}

// A loopback port that accepts connections (the kernel completes them)
// and never answers.
class SilentPort {
public:
    SilentPort() : m_fd(::socket(AF_INET, SOCK_STREAM, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t length = sizeof address;
        if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
            ::listen(m_fd, 8) != 0 ||
            ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
            throw std::runtime_error("cannot listen on loopback");
        }
        m_port = ntohs(address.sin_port);
    }
    SilentPort(const SilentPort&) = delete;
    SilentPort& operator=(const SilentPort&) = delete;
    ~SilentPort() { ::close(m_fd); }
    int port() const { return m_port; }

private:
    int m_fd;
    int m_port = 0;
};

} // namespace

TEST(OpStateUrl, SignsWithTheTestPassword2OnlyInTestModeWithAPair) {
    rk::MethodSettings s = settings();
    const std::string live = rk::op_state_url("http://127.0.0.1:1/OpStateExt", s, 7);
    EXPECT_NE(live.find("Signature=" + rk::sign(rk::HashAlgorithm::md5, "demo:7:Passw0rdTwo")),
              std::string::npos);
    s.test_mode = true;
    const std::string test = rk::op_state_url("http://127.0.0.1:1/OpStateExt", s, 7);
    EXPECT_NE(test.find("Signature=" + rk::sign(rk::HashAlgorithm::md5, "demo:7:Test0passTwo")),
              std::string::npos);
}

TEST(CredentialCheck, SwitchedOffAsksNothing) {
    rk::Config config;
    config.check_credentials = false;
    config.opstate_url = "http://127.0.0.1:1/OpStateExt";
    EXPECT_EQ(rk::verify_credentials(config, settings()), "");
}

TEST(CredentialCheck, SilentRobokassaIsNotCheckedWithinTheTimeout) {
    SilentPort silent;
    rk::Config config;
    config.check_timeout = 1;
    config.opstate_url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/OpStateExt";
    const auto started = std::chrono::steady_clock::now();
    rk::CredentialCheck check = rk::check_credentials(config, settings());
    const auto took = std::chrono::steady_clock::now() - started;
    EXPECT_EQ(check.verdict, rk::CredentialVerdict::not_checked);
    EXPECT_FALSE(check.why_not.empty());
    EXPECT_EQ(check.why_not.find("Passw0rd"), std::string::npos);
    // It waited for an answer the whole second, and not much longer.
    EXPECT_GE(took, std::chrono::milliseconds(900));
    EXPECT_LT(took, std::chrono::milliseconds(2500));
}
