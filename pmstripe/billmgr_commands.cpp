// The commands BILLmanager itself runs: config and pmvalidate.
#include "commands.hpp"
#include "error.hpp"
#include "log.hpp"
#include "stripe_keys.hpp"
#include "text.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <ostream>

namespace rk::stripe::module {

namespace pt = boost::property_tree;

void command_config(Context& ctx) {
    ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<doc>"
               "<feature>"
               "<redirect>on</redirect>"
               "<notneedprofile>on</notneedprofile>"
               "<pmvalidate>on</pmvalidate>"
               "</feature>"
               "<param><payment_script>/mancgi/stpayment</payment_script></param>"
               "</doc>\n";
}

void command_pmvalidate(Context& ctx) {
    pt::ptree tree;
    try {
        pt::read_xml(ctx.in, tree);
    } catch (const pt::xml_parser_error& e) {
        throw bad_input("stdin", std::string("unreadable XML: ") + e.message());
    }
    const auto doc = tree.get_child_optional("doc");
    if (!doc) {
        throw bad_input("stdin", "the XML has no <doc> element");
    }
    KeyFields fields;
    for (const char* name : {"secret_key", "publishable_key", "webhook_secret"}) {
        if (auto value = doc->get_optional<std::string>(name)) {
            fields[name] = *value;
        }
    }
    try {
        parse_stripe_keys(fields);
    } catch (const Error& e) {
        log::info("pmvalidate refused " + e.describe());
        ctx.out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                << "<doc><error type=\"value\" object=\"" << escape_markup(e.field())
                << "\"><param name=\"object\" type=\"msg\">" << escape_markup(e.field())
                << "</param><msg>" << escape_markup(xml_safe(e.describe()))
                << "</msg></error></doc>\n";
        return;
    }
    pt::write_xml(ctx.out, tree);
    ctx.out << "\n";
}

} // namespace rk::stripe::module
