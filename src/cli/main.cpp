// daemoneye-cli: the operator's command line for procmond. Everything but the
// process boundary lives in run_cli (cli_app.hpp).
#include <exception>
#include <iostream>

#include "cli/cli_app.hpp"

int main(int argc, char** argv) {
  try {
    return static_cast<int>(daemoneye::cli::run_cli(argc, argv, std::cout, std::cerr));
  } catch (const std::exception& e) {
    // Only our own bugs and allocation failure get here.
    std::cerr << "daemoneye-cli: internal error: " << e.what() << '\n';
    return static_cast<int>(daemoneye::cli::exit_code::failed);
  }
}
