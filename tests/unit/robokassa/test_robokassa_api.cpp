// core/robokassa_api.hpp: the OpStateExt question, the credential check and
// how a recurring charge's answer is read, where they need no Robokassa
// (the emulator suites ask it for real).
#include "robokassa/robokassa_api.hpp"
#include "robokassa/signature.hpp"
#include "unit_support.hpp"
#include "util/error.hpp"

#include <arpa/inet.h>
#include <chrono>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <thread>
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

namespace {

// A loopback HTTP server that answers one request with a fixed status and
// body, then closes: Robokassa's recurring interface as each case needs it.
class OneAnswer {
public:
    OneAnswer(int status, std::string body) {
        m_port = m_listener.port();
        m_thread = std::thread([this, status, body = std::move(body)] {
            int client = ::accept(m_listener.fd(), nullptr, nullptr);
            if (client < 0) {
                return;
            }
            std::string request;
            char buffer[4096];
            // Up to the end of the headers and the form body after them.
            while (true) {
                auto end = request.find("\r\n\r\n");
                if (end != std::string::npos) {
                    auto length_at = request.find("Content-Length: ");
                    std::size_t length = length_at == std::string::npos
                                             ? 0
                                             : std::stoul(request.substr(length_at + 16));
                    if (request.size() >= end + 4 + length) {
                        break;
                    }
                }
                ssize_t got = ::read(client, buffer, sizeof buffer);
                if (got <= 0) {
                    break;
                }
                request.append(buffer, static_cast<std::size_t>(got));
            }
            m_request = request;
            std::string reply =
                "HTTP/1.1 " + std::to_string(status) +
                " X\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\nConnection: close\r\n\r\n" + body;
            (void)::write(client, reply.data(), reply.size());
            ::close(client);
        });
    }
    OneAnswer(const OneAnswer&) = delete;
    OneAnswer& operator=(const OneAnswer&) = delete;
    ~OneAnswer() {
        if (m_thread.joinable()) {
            m_thread.join();
        }
    }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(m_port) + "/Recurring"; }
    const std::string& request() {
        if (m_thread.joinable()) {
            m_thread.join();
        }
        return m_request;
    }

private:
    class Listener {
    public:
        Listener() : m_fd(::socket(AF_INET, SOCK_STREAM, 0)) {
            sockaddr_in address{};
            address.sin_family = AF_INET;
            address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            socklen_t length = sizeof address;
            if (m_fd < 0 || ::bind(m_fd, reinterpret_cast<sockaddr*>(&address), length) != 0 ||
                ::listen(m_fd, 1) != 0 ||
                ::getsockname(m_fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
                throw std::runtime_error("cannot listen on loopback");
            }
            m_port = ntohs(address.sin_port);
        }
        Listener(const Listener&) = delete;
        Listener& operator=(const Listener&) = delete;
        ~Listener() { ::close(m_fd); }
        int fd() const { return m_fd; }
        int port() const { return m_port; }

    private:
        int m_fd;
        int m_port = 0;
    };

    Listener m_listener;
    int m_port = 0;
    std::string m_request;
    std::thread m_thread;
};

rk::Payment child_payment() {
    rk::Payment p;
    p.id = 7;
    p.amount = 99000;
    p.description = "Month 2";
    return p;
}

rk::RecurringAnswer charge(const std::string& url) {
    rk::Config config;
    config.recurring_url = url;
    config.http_timeout = 5;
    return rk::charge_recurring(config, settings(), child_payment(), 5);
}

} // namespace

TEST(RecurringCharge, OkWithTheInvoiceIsAcceptedAndTheFormIsSigned) {
    OneAnswer robokassa(200, "OK7\n");
    rk::RecurringAnswer answer = charge(robokassa.url());
    EXPECT_TRUE(answer.accepted);
    const std::string& request = robokassa.request();
    EXPECT_NE(request.find("InvoiceID=7&PreviousInvoiceID=5&OutSum=990.00"), std::string::npos)
        << request;
    EXPECT_NE(request.find("SignatureValue=" +
                           rk::sign(rk::HashAlgorithm::md5, "demo:990.00:7:Passw0rdOne")),
              std::string::npos)
        << request;
}

TEST(RecurringCharge, ARefusalIsDeclinedWithRobokassasWords) {
    {
        OneAnswer robokassa(400, "ERROR no paid recurring parent\r\nmore");
        rk::RecurringAnswer answer = charge(robokassa.url());
        EXPECT_FALSE(answer.accepted);
        EXPECT_EQ(answer.reason, "ERROR no paid recurring parent");
    }
    {
        // 200 but not OK for this invoice: not taken either.
        OneAnswer robokassa(200, "OK8");
        EXPECT_FALSE(charge(robokassa.url()).accepted);
    }
}

TEST(RecurringCharge, NoAnswerAboutTheChargeThrowsUpstream) {
    for (int status : {500, 503, 302}) {
        OneAnswer robokassa(status, "busy");
        try {
            charge(robokassa.url());
            ADD_FAILURE() << status << " read as an answer";
        } catch (const rk::Error& e) {
            EXPECT_EQ(e.kind(), rk::ErrorKind::upstream);
        }
    }
    SilentPort closed_soon;
    rk::Config config;
    config.recurring_url = "http://127.0.0.1:" + std::to_string(closed_soon.port()) + "/R";
    config.http_timeout = 1;
    EXPECT_THROW(rk::charge_recurring(config, settings(), child_payment(), 5), rk::Error);
}
