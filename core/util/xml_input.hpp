#pragma once

#include <boost/property_tree/ptree_fwd.hpp>
#include <cstddef>
#include <string_view>

namespace rk {

// Boost.PropertyTree's XML parser recurses once per nested element and has
// no limit of its own: a few hundred kilobytes of `<a><a>…` exhaust the
// stack. No document we read (BILLmanager's forms and answers, Robokassa's
// OpStateExt) comes near this depth.
inline constexpr std::size_t k_max_xml_depth = 64;

// The deepest element nesting in `text`, counted without building a tree
// and stopping as soon as it passes `limit` (so the answer is then
// limit + 1). Comments, CDATA, processing instructions and declarations
// are skipped; quoted attribute values may contain '>'. It errs towards
// counting deeper than a parser would, never shallower.
std::size_t xml_depth(std::string_view text, std::size_t limit = k_max_xml_depth);

// Every XML document this program reads goes through here: refuses one
// nested past k_max_xml_depth before the parser sees it, then parses it
// with read_xml's `flags`. Throws boost::property_tree::xml_parser_error
// for both, so a caller's one catch covers a deep document too.
boost::property_tree::ptree parse_xml(std::string_view text, int flags = 0);

} // namespace rk
