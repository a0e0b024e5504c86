// SPDX-License-Identifier: MIT
// How the sharedmem command explains itself: help text wrapped to 80
// columns, the man page sharedmem(1) and the bash and zsh completions, all
// rendered from the same CLI11 definitions and command documentation, so
// that none of them can list an option the command does not have.
#ifndef SHAREDMEM_TOOLS_HELP_HPP
#define SHAREDMEM_TOOLS_HELP_HPP

#include <CLI/CLI.hpp>

#include <optional>
#include <string>
#include <vector>

namespace sharedmem_cli {

// What the help says of one subcommand beyond its options.
struct CommandDoc {
  std::string name;
  std::string summary;  // one line, shown in the list of commands
  std::string details;  // paragraphs separated by "\n"; may be empty
  std::string example;  // one shell command line, without the prompt
};

// One exit status of the command and what it means.
struct ExitStatusDoc {
  int status;
  std::string meaning;
};

struct ProgramDoc {
  std::string summary;      // one line
  std::string description;  // paragraphs separated by "\n"
  std::vector<CommandDoc> commands;
  std::vector<ExitStatusDoc> statuses;
  std::string version;      // "1.0.0"

  const CommandDoc* command(const std::string& name) const;
};

constexpr std::size_t kHelpWidth = 80;

// `text` wrapped to `width` columns, each line indented by `indent` spaces
// (the first by `first_indent`); "\n" in `text` starts a new paragraph.
std::string wrap(const std::string& text, std::size_t indent, std::size_t first_indent,
                 std::size_t width = kHelpWidth);

// Renders --help and `sharedmem help [COMMAND]` for the program and each of
// its subcommands. `doc` must outlive the formatter.
class HelpFormatter : public CLI::FormatterBase {
 public:
  explicit HelpFormatter(const ProgramDoc& doc) : doc_(doc) {}
  std::string make_help(const CLI::App* app, std::string name, CLI::AppFormatMode mode) const override;

 private:
  const ProgramDoc& doc_;
};

std::string program_help(const CLI::App& app, const ProgramDoc& doc);
std::string command_help(const CLI::App& command, const ProgramDoc& doc);
// The exit statuses as a table, one status a line.
std::string exit_status_help(const ProgramDoc& doc);

// sharedmem(1) in roff (man -l renders it).
std::string man_page(const CLI::App& app, const ProgramDoc& doc);
// Completion scripts: bash (complete -F) and zsh (#compdef).
std::string bash_completion(const CLI::App& app, const ProgramDoc& doc);
std::string zsh_completion(const CLI::App& app, const ProgramDoc& doc);

// The candidate nearest to `word` (a typo, an abbreviation), if one is near.
std::optional<std::string> closest_word(const std::string& word,
                                        const std::vector<std::string>& candidates);

}  // namespace sharedmem_cli

#endif  // SHAREDMEM_TOOLS_HELP_HPP
