// util/url.hpp: which URLs the configuration and the method form accept.
#include "util/url.hpp"

#include <gtest/gtest.h>

TEST(HttpsOrLoopbackUrl, AcceptsHttpsAndLoopbackHttp) {
    for (const char* url :
         {"https://auth.robokassa.ru/Merchant/Index.aspx", "https://my.example.com",
          "https://my.example.com:8443/billmgr", "http://127.0.0.1:8080/x", "http://127.0.0.1",
          "http://127.1.2.3/", "http://[::1]:80", "http://[::1]/path", "http://localhost:8080/"}) {
        EXPECT_TRUE(rk::is_https_or_loopback_url(url)) << url;
    }
}

TEST(HttpsOrLoopbackUrl, RefusesEverythingElse) {
    for (const char* url : {"",
                            "http://example.com",
                            "http://example.com/x",
                            "http://10.0.0.1/",
                            "http://0.0.0.0/",
                            "https://user@host",
                            "https://user:pw@host/x",
                            "http://127.0.0.1@evil.example/",
                            "javascript:",
                            "javascript:alert(1)",
                            "javascript://%0aalert(1)",
                            "ftp://127.0.0.1/",
                            "https://",
                            "http://",
                            "https:///x",
                            "//example.com",
                            "/billmgr",
                            "https://my.example.com/a b",
                            "https://my.example.com/\"x",
                            "https://my.example.com/<x>",
                            "https://my.example.com/\nx",
                            "HTTP://example.com"}) {
        EXPECT_FALSE(rk::is_https_or_loopback_url(url)) << url;
    }
}

// A DNS name is not an address: "127.0.0.1.example.com" and "localhost.evil"
// resolve wherever their owner likes, so plain http to them is public.
TEST(HttpsOrLoopbackUrl, RefusesHostnamesThatOnlyLookLikeLoopback) {
    for (const char* url : {"http://127.0.0.1.nip.example/", "http://127.evil.example/x",
                            "http://127.0.0.1x/", "http://localhost.evil.example/",
                            "http://[::1]evil.example/", "http://[::1/", "http://127.0.0.1:80x/"}) {
        EXPECT_FALSE(rk::is_https_or_loopback_url(url)) << url;
    }
}

TEST(LoopbackHost, KnowsTheLoopbackNames) {
    for (const char* host : {"127.0.0.1", "127.255.255.254", "localhost", "[::1]"}) {
        EXPECT_TRUE(rk::is_loopback_host(host)) << host;
    }
    for (const char* host : {"", "128.0.0.1", "10.0.0.1", "example.com", "127.0.0.1.example.com",
                             "127.x", "::1", "localhost.example.com", "1.127.0.0"}) {
        EXPECT_FALSE(rk::is_loopback_host(host)) << host;
    }
}

TEST(UrlOrigin, KeepsSchemeHostAndPort) {
    EXPECT_EQ(rk::url_origin("https://my.example.com/billmgr"), "https://my.example.com");
    EXPECT_EQ(rk::url_origin("https://my.example.com:8443?x=1"), "https://my.example.com:8443");
    EXPECT_EQ(rk::url_origin("https://auth.robokassa.ru"), "https://auth.robokassa.ru");
    EXPECT_EQ(rk::url_origin("http://[::1]:80/#x"), "http://[::1]:80");
    EXPECT_EQ(rk::url_origin("relative/path"), "");
    EXPECT_EQ(rk::url_origin("https://"), "");
    EXPECT_EQ(rk::url_origin("https:///path"), "");
}
