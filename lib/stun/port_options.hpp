// The command-line options that choose the local port (-4, -6, -p, --bind, --mode), shared
// by stun-probe and nat-classify.
#pragma once

#include <boost/program_options.hpp>
#include <optional>

#include "io/log.hpp"
#include "stun/probe.hpp"

namespace natkit::stun {

void add_port_options(boost::program_options::options_description& options);
// -4 / -6 (usage error for both).
std::optional<net::Family> family_option(const boost::program_options::variables_map& vm);
// Opens the port the options ask for (see LocalPort::open for the errors).
LocalPort open_port(const boost::program_options::variables_map& vm, io::Log& log);

}  // namespace natkit::stun
