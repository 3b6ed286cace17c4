#include "cgi/reply.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

TEST(Reply, SerializesStatusTypeLengthHeadersAndBodyOnce) {
    rk::Reply reply = rk::plain_reply(200, "OK12");
    EXPECT_EQ(rk::serialize(reply), "Status: 200 OK\r\n"
                                    "Content-Type: text/plain; charset=utf-8\r\n"
                                    "Content-Length: 4\r\n"
                                    "Cache-Control: no-store\r\n"
                                    "X-Content-Type-Options: nosniff\r\n"
                                    "\r\n"
                                    "OK12");
}

TEST(Reply, RefusesHeaderValuesThatWouldSplitTheHeaderBlock) {
    rk::Reply reply = rk::redirect_reply("https://panel.example/?a=1\r\nSet-Cookie: x=1");
    EXPECT_THROW(rk::serialize(reply), rk::Error);
}

TEST(Reply, RedirectIs302WithLocation) {
    std::string text = rk::serialize(rk::redirect_reply("https://panel.example/billmgr"));
    EXPECT_EQ(text.rfind("Status: 302 Found\r\n", 0), 0u);
    EXPECT_NE(text.find("\r\nLocation: https://panel.example/billmgr\r\n"), std::string::npos);
}
