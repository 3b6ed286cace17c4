// payment.recurring.info as the recorded panel answer gives it.
#include "robokassa/recurring.hpp"
#include "unit_support.hpp"
#include "util/error.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <map>
#include <sstream>

namespace rk {
namespace {

namespace pt = boost::property_tree;

pt::ptree recorded_series(std::map<std::string, std::string> values) {
    std::string xml =
        test::read_file(std::string(PMROBOKASSA_TEST_DATA_DIR) + "/mgrctl/recurring_info.xml");
    for (const auto& [name, value] : values) {
        std::string placeholder = "{" + name + "}";
        for (auto at = xml.find(placeholder); at != std::string::npos; at = xml.find(placeholder)) {
            xml.replace(at, placeholder.size(), value);
        }
    }
    std::istringstream in(xml);
    pt::ptree tree;
    pt::read_xml(in, tree, pt::xml_parser::trim_whitespace);
    return tree.get_child("doc");
}

std::map<std::string, std::string> series_values() {
    return {{"id", "51"},       {"status", "0"},     {"token", ""},
            {"maxamount", "0"}, {"payment", "3201"}, {"shop", "demo_shop"}};
}

TEST(RecurringInfo, ReadsTheStatusTokenAndFirstPayment) {
    RecurringSeries series = parse_recurring_info(recorded_series(series_values()), 51);
    EXPECT_EQ(series.id, 51);
    EXPECT_EQ(series.status, k_series_being_set_up);
    EXPECT_EQ(series.token, "");
    EXPECT_EQ(series.first_payment, 3201);

    auto active = series_values();
    active["status"] = "1";
    active["token"] = "3201";
    active["payment"] = "";
    series = parse_recurring_info(recorded_series(active), 51);
    EXPECT_EQ(series.status, k_series_active);
    EXPECT_EQ(series.token, "3201");
    EXPECT_FALSE(series.first_payment);
}

TEST(RecurringInfo, AnUnusableAnswerIsTheServersError) {
    auto no_status = series_values();
    no_status["status"] = "";
    auto bad_payment = series_values();
    bad_payment["payment"] = "12x";
    for (const auto& values : {no_status, bad_payment}) {
        try {
            parse_recurring_info(recorded_series(values), 51);
            ADD_FAILURE() << "accepted";
        } catch (const Error& e) {
            EXPECT_EQ(e.kind(), ErrorKind::upstream);
        }
    }
    try {
        parse_recurring_info(pt::ptree(), 51);
        ADD_FAILURE() << "accepted an answer without <recurring>";
    } catch (const Error& e) {
        EXPECT_EQ(e.kind(), ErrorKind::upstream);
    }
}

} // namespace
} // namespace rk
