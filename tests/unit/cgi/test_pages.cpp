#include "cgi/pages.hpp"

#include <gtest/gtest.h>

using rk::Language;

TEST(Pages, CultureWinsOverCookieAndAcceptLanguage) {
    std::string en = "en";
    EXPECT_EQ(rk::choose_language(&en, "billmgrlang5=ru", "ru"), Language::en);
}

TEST(Pages, BillmanagerCookieWinsOverAcceptLanguage) {
    EXPECT_EQ(rk::choose_language(nullptr, "billmgrlang5=billmgr:en", "ru-RU"), Language::en);
    EXPECT_EQ(rk::choose_language(nullptr, "x=1; billmgrlang5=ru", "en"), Language::ru);
}

TEST(Pages, AcceptLanguageByQuality) {
    EXPECT_EQ(rk::choose_language(nullptr, "", "de-DE, en;q=0.8, ru;q=0.5"), Language::en);
    EXPECT_EQ(rk::choose_language(nullptr, "", "en;q=0.3, ru-RU"), Language::ru);
    EXPECT_EQ(rk::choose_language(nullptr, "", "de, fr"), Language::ru);
}

TEST(Pages, HtmlReplyCarriesTheSecurityHeaders) {
    rk::Page page;
    page.language = Language::en;
    page.title = "T";
    page.form_action = "https://auth.robokassa.ru/Merchant/Index.aspx";
    page.auto_submit = true;
    rk::Reply reply = rk::html_reply(200, page);
    std::string csp;
    bool no_store = false;
    bool nosniff = false;
    for (const auto& [name, value] : reply.headers) {
        csp = name == "Content-Security-Policy" ? value : csp;
        no_store = no_store || (name == "Cache-Control" && value == "no-store");
        nosniff = nosniff || (name == "X-Content-Type-Options" && value == "nosniff");
    }
    EXPECT_TRUE(no_store);
    EXPECT_TRUE(nosniff);
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos);
    EXPECT_NE(csp.find("form-action https://auth.robokassa.ru;"), std::string::npos);
    EXPECT_NE(csp.find("script-src 'sha256-"), std::string::npos);
    EXPECT_NE(reply.body.find("<html lang=\"en\">"), std::string::npos);
}

TEST(Pages, PageWithoutFormAllowsNoFormAction) {
    rk::Page page;
    rk::Reply reply = rk::html_reply(200, page);
    bool found = false;
    for (const auto& [name, value] : reply.headers) {
        if (name == "Content-Security-Policy") {
            found = true;
            EXPECT_NE(value.find("form-action 'none'"), std::string::npos);
            EXPECT_EQ(value.find("script-src"), std::string::npos);
        }
    }
    EXPECT_TRUE(found);
}
