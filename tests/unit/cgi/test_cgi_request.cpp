#include "cgi/cgi_request.hpp"
#include "util/error.hpp"

#include <gtest/gtest.h>

using rk::CgiInput;
using rk::Error;
using rk::ErrorKind;

namespace {

CgiInput post(std::string body, std::string query = "") {
    CgiInput in;
    in.env["REQUEST_METHOD"] = "POST";
    in.env["CONTENT_TYPE"] = "application/x-www-form-urlencoded; charset=utf-8";
    in.env["CONTENT_LENGTH"] = std::to_string(body.size());
    in.env["QUERY_STRING"] = std::move(query);
    in.body = std::move(body);
    return in;
}

ErrorKind kind_of(const CgiInput& in) {
    try {
        rk::parse_cgi_request(in);
    } catch (const Error& e) {
        return e.kind();
    }
    return ErrorKind::internal; // "accepted": no test expects internal
}

} // namespace

TEST(CgiRequest, MergesQueryAndBody) {
    auto request = rk::parse_cgi_request(post("OutSum=990.00&InvId=12", "Shp_a=1"));
    EXPECT_EQ(request.method, "POST");
    EXPECT_EQ(request.require("OutSum"), "990.00");
    EXPECT_EQ(request.require("Shp_a"), "1");
}

TEST(CgiRequest, KeyInBothQueryAndBodyIsADuplicate) {
    EXPECT_EQ(kind_of(post("InvId=12", "InvId=13")), ErrorKind::bad_input);
}

TEST(CgiRequest, LyingOrMissingContentLengthIsRefused) {
    CgiInput lying = post("InvId=12");
    lying.env["CONTENT_LENGTH"] = "100";
    EXPECT_EQ(kind_of(lying), ErrorKind::bad_input);
    CgiInput missing = post("InvId=12");
    missing.env.erase("CONTENT_LENGTH");
    EXPECT_EQ(kind_of(missing), ErrorKind::bad_input);
    CgiInput garbage = post("InvId=12");
    garbage.env["CONTENT_LENGTH"] = "8x";
    EXPECT_EQ(kind_of(garbage), ErrorKind::bad_input);
}

TEST(CgiRequest, BodiesOver64KiBAreTooLarge) {
    CgiInput big = post(std::string(64 * 1024 + 1, 'a'));
    EXPECT_EQ(kind_of(big), ErrorKind::too_large);
    CgiInput unread;
    unread.env["REQUEST_METHOD"] = "POST";
    unread.body_too_large = true;
    EXPECT_EQ(kind_of(unread), ErrorKind::too_large);
}

TEST(CgiRequest, OnlyFormBodies) {
    CgiInput json = post("{\"InvId\": 12}");
    json.env["CONTENT_TYPE"] = "application/json";
    EXPECT_EQ(kind_of(json), ErrorKind::bad_input);
}

TEST(CgiRequest, OnlyGetAndPost) {
    CgiInput put = post("InvId=12");
    put.env["REQUEST_METHOD"] = "PUT";
    EXPECT_EQ(kind_of(put), ErrorKind::method_not_allowed);
}

TEST(CgiRequest, MediaTypeIsCaseInsensitive) {
    CgiInput upper = post("InvId=12");
    upper.env["CONTENT_TYPE"] = "Application/X-WWW-Form-Urlencoded; Charset=UTF-8";
    EXPECT_EQ(rk::parse_cgi_request(upper).require("InvId"), "12");
    upper.env["CONTENT_TYPE"] = "APPLICATION/X-WWW-FORM-URLENCODED\t";
    EXPECT_EQ(rk::parse_cgi_request(upper).require("InvId"), "12");
}

TEST(CgiRequest, AllowNamesExactlyTheAcceptedMethods) {
    CgiInput put = post("InvId=12");
    put.env["REQUEST_METHOD"] = "PUT";
    try {
        rk::parse_cgi_request(put);
        FAIL() << "PUT accepted";
    } catch (const rk::MethodNotAllowed& e) {
        EXPECT_EQ(e.allow(), "GET, POST");
    }
    try {
        rk::parse_cgi_request(post("elid=1"), rk::AcceptedMethods::get);
        FAIL() << "POST accepted by a GET-only program";
    } catch (const rk::MethodNotAllowed& e) {
        EXPECT_EQ(e.allow(), "GET");
    }
}

TEST(CgiRequest, ValuesKeepCrLfAndInvalidUtf8NamesDoNot) {
    auto request = rk::parse_cgi_request(post("Shp_note=a%0D%0Ab%FF"));
    EXPECT_EQ(request.require("Shp_note"), "a\r\nb\xff");
    EXPECT_EQ(kind_of(post("Shp_a%0D%0Ab=1")), ErrorKind::bad_input);
}

TEST(CgiRequest, CookieValue) {
    EXPECT_EQ(rk::cookie_value("a=1; billmgrlang5=billmgr:en; b=2", "billmgrlang5"), "billmgr:en");
    EXPECT_EQ(rk::cookie_value("xbillmgrlang5=ru", "billmgrlang5"), std::nullopt);
    EXPECT_EQ(rk::cookie_value("", "billmgrlang5"), std::nullopt);
}
