// Every XML document the programs read (pmvalidate's stdin, OpStateExt,
// mgrctl) goes through rk::parse_xml: whatever the input, it parses or
// throws xml_parser_error, never recurses past the depth limit, and
// refuses exactly the documents the depth scan finds too deep.
#include "fuzz_check.hpp"
#include "util/xml_input.hpp"

#include <boost/property_tree/ptree.hpp>
#include <boost/property_tree/xml_parser.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace {

std::size_t tree_depth(const boost::property_tree::ptree& tree) {
    std::size_t deepest = 0;
    for (const auto& child : tree) {
        std::size_t d = 1 + tree_depth(child.second);
        deepest = d > deepest ? d : deepest;
    }
    return deepest;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace pt = boost::property_tree;
    std::string_view text(reinterpret_cast<const char*>(data), size);
    const bool too_deep = rk::xml_depth(text) > rk::k_max_xml_depth;
    try {
        pt::ptree tree = rk::parse_xml(text, pt::xml_parser::trim_whitespace);
        FUZZ_CHECK(!too_deep);
        // Elements, plus one level for <xmlattr> and its attributes.
        FUZZ_CHECK(tree_depth(tree) <= rk::k_max_xml_depth + 2);
    } catch (const pt::xml_parser_error&) {
    }
    return 0;
}
