#pragma once

#include <boost/property_tree/ptree_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

namespace rk {

// BILLmanager's command-line client, the panel's own way for a module to
// read and change its payments: `mgrctl -m billmgr -o xml FUNC key=value…`.
// No shell is involved: each key=value is one argv entry, so a value can
// hold any byte but NUL.
class Mgrctl {
public:
    using Params = std::vector<std::pair<std::string, std::string>>;

    Mgrctl(std::string path, int timeout_seconds)
        : m_path(std::move(path)), m_timeout_seconds(timeout_seconds) {}

    const std::string& path() const { return m_path; }

    // Runs one function and returns the XML document it printed (the tree
    // under <doc>). Throws Error(upstream) when mgrctl cannot be started,
    // outlives the timeout (it is killed), exits non-zero or prints
    // something that is not a <doc>; a <doc> holding <error> is returned as
    // it is, for the caller to judge (see error_type).
    boost::property_tree::ptree call(const std::string& function, const Params& params) const;

private:
    std::string m_path;
    int m_timeout_seconds;
};

// The type attribute of the <error> in a panel answer ("missing",
// "access", "value"…), or empty when the answer holds no error.
std::string error_type(const boost::property_tree::ptree& doc);
// A one-line description of that error for logs and replies: type, object
// and message, never the whole document (answers carry method passwords).
std::string error_summary(const boost::property_tree::ptree& doc);

} // namespace rk
