#pragma once
// What the in-process tests of the Robokassa CGI handlers share: a real
// store in a private MGR5_ROOT with a live and a test-mode method, requests
// built by hand and served through rk::serve as the CGIs serve them, and a
// digest computed with OpenSSL directly, apart from the project's own
// signature code.

#include "billing/store.hpp"
#include "cgi/cgi_runner.hpp"
#include "robokassa/method_settings.hpp"
#include "robokassa/method_store.hpp"
#include "unit_support.hpp"

#include <filesystem>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <optional>
#include <string>
#include <strings.h>
#include <vector>

namespace rk::test {

inline const char* const k_shop = "demo-shop";
inline const char* const k_password1 = "Passw0rdOne";
inline const char* const k_password2 = "Passw0rdTwo";
inline const char* const k_test_password1 = "TestPassw0rd1";
inline const char* const k_test_password2 = "TestPassw0rd2";
inline const char* const k_manager_url = "https://billing.example.com/billmgr";

// Hex digest of `data` through EVP alone: the signatures the handlers must
// produce or accept, computed without rk::sign.
inline std::string evp_hex(const EVP_MD* md, const std::string& data) {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    if (EVP_Digest(data.data(), data.size(), digest, &size, md, nullptr) != 1) {
        throw std::runtime_error("EVP_Digest failed");
    }
    static const char* const hex = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < size; ++i) {
        out += hex[digest[i] >> 4];
        out += hex[digest[i] & 0xF];
    }
    return out;
}

inline const std::string* find_header(const Reply& reply, const char* name) {
    for (const auto& [key, value] : reply.headers) {
        if (strcasecmp(key.c_str(), name) == 0) {
            return &value;
        }
    }
    return nullptr;
}

// The value of the form's hidden field `name`, as the page writes it.
inline std::optional<std::string> hidden_field(const std::string& html, const std::string& name) {
    const std::string marker = "name=\"" + name + "\" value=\"";
    std::size_t at = html.find(marker);
    if (at == std::string::npos) {
        return std::nullopt;
    }
    at += marker.size();
    return html.substr(at, html.find('"', at) - at);
}

inline CgiInput get_request(const std::string& query) {
    CgiInput input;
    input.env = {{"REQUEST_METHOD", "GET"}, {"QUERY_STRING", query}};
    return input;
}

inline CgiInput post_request(const std::string& body) {
    CgiInput input;
    input.env = {{"REQUEST_METHOD", "POST"},
                 {"CONTENT_TYPE", "application/x-www-form-urlencoded"},
                 {"CONTENT_LENGTH", std::to_string(body.size())}};
    input.body = body;
    return input;
}

class RobokassaHandlerTest : public Mgr5RootTest {
protected:
    RobokassaHandlerTest() {
        std::filesystem::create_directories(m_root / "var");
        Store s = Store::open(m_path, sql::OpenMode::create_if_missing, 1000);
        MethodSettings live;
        live.shop_id = k_shop;
        live.password1 = k_password1;
        live.password2 = k_password2;
        m_live = add_method(s, "Robokassa", live);
        MethodSettings test = live;
        test.test_mode = true;
        test.hash_algorithm = HashAlgorithm::sha256;
        test.test_password1 = k_test_password1;
        test.test_password2 = k_test_password2;
        m_test = add_method(s, "Robokassa (test)", test);
        m_config.busy_timeout_ms = 1000;
    }

    Store store() { return Store::open(m_path, sql::OpenMode::existing, 1000); }

    PaymentId add_payment(MethodId method, Kopecks amount = 99000,
                          const std::string& currency = "RUB",
                          const std::string& description = "Hosting, March") {
        NewPayment p;
        p.method_id = method;
        p.amount = amount;
        p.currency = currency;
        p.description = description;
        return store().add_payment(p);
    }

    PaymentStatus status_of(PaymentId id) { return store().find_payment(id)->status; }
    int credits(PaymentId id) { return store().count_transitions_to(id, PaymentStatus::paid); }
    std::vector<JournalEntry> journal(std::optional<PaymentId> id = std::nullopt) {
        return store().journal(id);
    }

    void cancel(PaymentId id) {
        Store s = store();
        sql::Transaction tx(s.db());
        s.mark_cancelled(tx, id, "test");
        tx.commit();
    }

    void mark_in_pay(PaymentId id) {
        Store s = store();
        sql::Transaction tx(s.db());
        s.mark_in_pay(tx, id, "test");
        tx.commit();
    }

    // One request through rk::serve, with a context of its own as each CGI
    // process has.
    Reply serve(Handler handler, const char* program, ErrorStyle style, const CgiInput& input) {
        CgiContext context(program, m_config, m_path);
        return rk::serve(input, context, handler, style);
    }

    std::string m_path = m_root / "var/pmrobokassa.db";
    Config m_config;
    MethodId m_live = 0;
    MethodId m_test = 0;
};

} // namespace rk::test
