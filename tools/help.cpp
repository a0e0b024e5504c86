// SPDX-License-Identifier: MIT
#include "help.hpp"

#include <algorithm>
#include <sstream>

namespace sharedmem_cli {
namespace {

// One option or argument as the help, the man page and the completions
// show it.
struct OptionLine {
  std::string names;        // "-h, --help", "--count N", "NAME"
  std::string usage;        // "[--count N]", "NAME", "[COMMAND]"
  std::string description;
  std::vector<std::string> flags;  // "--count", "-h", ...; empty for an argument
  bool takes_value = false;
  bool positional = false;
  bool repeated = false;  // may be given again, each time with a value
};

std::vector<OptionLine> options_of(const CLI::App& app) {
  std::vector<OptionLine> lines;
  for (const CLI::Option* option : app.get_options()) {
    if (option->get_group().empty()) continue;  // hidden
    OptionLine line;
    line.description = option->get_description();
    line.takes_value = option->get_expected_max() != 0;
    if (!option->nonpositional()) {
      line.positional = true;
      line.names = option->get_name(true);
      line.usage = option->get_required() ? line.names : "[" + line.names + "]";
    } else {
      for (const std::string& s : option->get_snames()) line.flags.push_back("-" + s);
      for (const std::string& l : option->get_lnames()) line.flags.push_back("--" + l);
      for (const std::string& flag : line.flags)
        line.names += (line.names.empty() ? "" : ", ") + flag;
      std::string value = line.takes_value ? " " + option->get_type_name() : "";
      line.names += value;
      line.repeated = line.takes_value &&
                      option->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
      line.usage = "[" + line.flags.back() + value + "]" + (line.repeated ? "..." : "");
    }
    lines.push_back(line);
  }
  // Arguments first, as they are given.
  std::stable_partition(lines.begin(), lines.end(),
                        [](const OptionLine& line) { return line.positional; });
  return lines;
}

// Name-and-description rows, the description wrapped in a column.
std::string rows(const std::vector<std::pair<std::string, std::string>>& items) {
  std::size_t column = 0;
  for (const auto& item : items) column = std::max(column, item.first.size());
  column = std::min<std::size_t>(column + 4, 26);
  std::string out;
  for (const auto& [name, description] : items) {
    const std::string label = "  " + name;
    std::string text = wrap(description, column, column);
    if (label.size() + 2 > column) out += label + "\n" + text;
    else out += label + text.substr(label.size());
  }
  return out;
}

std::vector<const CLI::App*> commands_of(const CLI::App& app) {
  return app.get_subcommands([](const CLI::App* sub) { return !sub->get_group().empty(); });
}

// The command and its arguments and options, each item's words joined by
// `join` (a non-space keeps an item on one line when the usage is wrapped).
std::string usage_line(const CLI::App& command, char join = ' ') {
  std::string words = command.get_name();
  for (const OptionLine& line : options_of(command)) {
    if (line.flags == std::vector<std::string>{"-h", "--help"}) continue;
    std::string item = line.usage;
    std::replace(item.begin(), item.end(), ' ', join);
    words += " " + item;
  }
  return words;
}

// Roff text: backslashes and hyphens escaped, no line starting with a dot.
std::string roff(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') out += "\\e";
    else if (c == '-') out += "\\-";
    else out += c;
  }
  std::string guarded;
  for (std::size_t i = 0; i < out.size(); ++i) {
    if ((i == 0 || out[i - 1] == '\n') && (out[i] == '.' || out[i] == '\'')) guarded += "\\&";
    guarded += out[i];
  }
  return guarded;
}

// A paragraph per "\n" of `text`, for roff.
std::string roff_paragraphs(const std::string& text) {
  std::string out;
  std::istringstream lines(text);
  std::string paragraph;
  bool first = true;
  while (std::getline(lines, paragraph)) {
    if (!first) out += ".PP\n";
    out += roff(paragraph) + "\n";
    first = false;
  }
  return out;
}

// Text safe inside a single-quoted shell word.
std::string shell_quoted(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

// The first clause of a description, for a completion menu.
std::string first_clause(const std::string& text) {
  const std::size_t end = text.find_first_of(";(:.");
  std::string clause = text.substr(0, end);
  while (!clause.empty() && clause.back() == ' ') clause.pop_back();
  return clause;
}

// Text for a zsh _arguments description: no brackets, colons or quotes.
std::string zsh_text(const std::string& text) {
  std::string out;
  for (char c : first_clause(text)) {
    if (c == '[' || c == ']' || c == ':' || c == '\'' || c == '\\') continue;
    out += c;
  }
  return out;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

}  // namespace

const CommandDoc* ProgramDoc::command(const std::string& name) const {
  for (const CommandDoc& doc : commands)
    if (doc.name == name) return &doc;
  return nullptr;
}

std::string wrap(const std::string& text, std::size_t indent, std::size_t first_indent,
                 std::size_t width) {
  std::string out;
  std::istringstream paragraphs(text);
  std::string paragraph;
  bool first_line = true;
  while (std::getline(paragraphs, paragraph)) {
    std::istringstream words(paragraph);
    std::string word;
    std::string line(first_line ? first_indent : indent, ' ');
    std::size_t start = line.size();
    while (words >> word) {
      if (line.size() > start && line.size() + 1 + word.size() > width) {
        out += line + "\n";
        line.assign(indent, ' ');
        start = indent;
      }
      if (line.size() > start) line += ' ';
      line += word;
    }
    out += line + "\n";
    first_line = false;
  }
  return out;
}

std::string HelpFormatter::make_help(const CLI::App* app, std::string, CLI::AppFormatMode) const {
  return app->get_parent() == nullptr ? program_help(*app, doc_) : command_help(*app, doc_);
}

std::string exit_status_help(const ProgramDoc& doc) {
  std::vector<std::pair<std::string, std::string>> items;
  for (const ExitStatusDoc& status : doc.statuses)
    items.emplace_back(std::to_string(status.status), status.meaning);
  return rows(items);
}

std::string program_help(const CLI::App& app, const ProgramDoc& doc) {
  std::string out = "Usage: " + app.get_name() + " COMMAND [ARGUMENTS] [OPTIONS]\n";
  out += "       " + app.get_name() + " help [COMMAND]\n\n";
  out += wrap(doc.summary + ".", 0, 0) + "\n" + wrap(doc.description, 0, 0) + "\nCommands:\n";
  std::vector<std::pair<std::string, std::string>> items;
  for (const CLI::App* command : commands_of(app))
    if (const CommandDoc* command_doc = doc.command(command->get_name()))
      items.emplace_back(command->get_name(), command_doc->summary);
  out += rows(items) + "\nOptions:\n";
  items.clear();
  for (const OptionLine& line : options_of(app)) items.emplace_back(line.names, line.description);
  out += rows(items);
  out += "\n" + wrap("Run '" + app.get_name() +
                         " help COMMAND' for a command's arguments, options and an example.",
                     0, 0);
  out += "\nExit status:\n" + exit_status_help(doc);
  return out;
}

std::string command_help(const CLI::App& command, const ProgramDoc& doc) {
  const CLI::App* parent = command.get_parent();
  const std::string program = parent ? parent->get_name() : "sharedmem";
  // Wrapped between items, never inside "[--count N]".
  constexpr char kKeep = '\x1f';
  const std::string usage = "Usage: " + program + " " + usage_line(command, kKeep);
  std::string out = wrap(usage, usage.find(' ', 7 + program.size()) + 1, 0);
  std::replace(out.begin(), out.end(), kKeep, ' ');
  const CommandDoc* command_doc = doc.command(command.get_name());
  if (command_doc) {
    out += "\n" + wrap(command_doc->summary + ".", 0, 0);
    if (!command_doc->details.empty()) out += "\n";
    if (!command_doc->details.empty()) out += wrap(command_doc->details, 0, 0);
  }
  std::vector<std::pair<std::string, std::string>> arguments, options;
  for (const OptionLine& line : options_of(command))
    (line.positional ? arguments : options).emplace_back(line.names, line.description);
  if (!arguments.empty()) out += "\nArguments:\n" + rows(arguments);
  if (!options.empty()) out += "\nOptions:\n" + rows(options);
  if (command_doc && !command_doc->example.empty())
    out += "\nExample:\n  $ " + command_doc->example + "\n";
  out += "\n" + wrap("Exit status: see '" + program + " help exit-status'.", 0, 0);
  return out;
}

std::string man_page(const CLI::App& app, const ProgramDoc& doc) {
  const std::string program = app.get_name();
  std::string out = ".\\\" Generated by `" + program + " help --man` from its own definitions.\n";
  out += ".TH SHAREDMEM 1 \"\" \"" + program + " " + doc.version + "\" \"User Commands\"\n";
  std::string summary = doc.summary;  // lower case after the dash, as man pages have it
  if (!summary.empty() && summary[0] >= 'A' && summary[0] <= 'Z') summary[0] += 'a' - 'A';
  out += ".SH NAME\n" + program + " \\- " + roff(summary) + "\n";
  out += ".SH SYNOPSIS\n";
  for (const CLI::App* command : commands_of(app))
    out += ".br\n.B " + program + "\n" + roff(usage_line(*command)) + "\n";
  out += ".SH DESCRIPTION\n" + roff_paragraphs(doc.description);
  out += ".SH COMMANDS\n";
  for (const CLI::App* command : commands_of(app)) {
    out += ".SS \"" + roff(usage_line(*command)) + "\"\n";
    if (const CommandDoc* command_doc = doc.command(command->get_name())) {
      out += roff_paragraphs(command_doc->summary + "\n" + command_doc->details);
      for (const OptionLine& line : options_of(*command)) {
        if (line.flags == std::vector<std::string>{"-h", "--help"}) continue;
        out += ".TP\n.B " + roff(line.names) + "\n" + roff(line.description) + "\n";
      }
      if (!command_doc->example.empty())
        out += ".PP\nExample:\n.PP\n.RS\n.nf\n$ " + roff(command_doc->example) + "\n.fi\n.RE\n";
    }
  }
  out += ".SH OPTIONS\n";
  for (const OptionLine& line : options_of(app))
    out += ".TP\n.B " + roff(line.names) + "\n" + roff(line.description) + "\n";
  out += ".SH EXIT STATUS\n";
  for (const ExitStatusDoc& status : doc.statuses)
    out += ".TP\n.B " + std::to_string(status.status) + "\n" + roff(status.meaning) + "\n";
  out += ".SH SEE ALSO\nThe library's documentation: docs/cli.md, docs/api.md and "
         "docs/lifetime.md in the sharedmem sources.\n";
  return out;
}

std::string bash_completion(const CLI::App& app, const ProgramDoc& doc) {
  const std::string program = app.get_name();
  std::string names;
  for (const CLI::App* command : commands_of(app)) names += " " + command->get_name();
  std::string top_options;
  for (const OptionLine& line : options_of(app))
    for (const std::string& flag : line.flags) top_options += " " + flag;
  std::string out =
      "# bash completion for " + program + " (generated by `" + program +
      " completion bash`)\n"
      "_" + program + "() {\n"
      "  local cur=${COMP_WORDS[COMP_CWORD]} previous=${COMP_WORDS[COMP_CWORD-1]} command= i\n"
      "  for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "    case ${COMP_WORDS[i]} in -*) ;; *) command=${COMP_WORDS[i]}; break ;; esac\n"
      "  done\n"
      "  local words= names=0\n"
      "  case $command in\n"
      "    '') words=" + shell_quoted(names.substr(1) + top_options) + " ;;\n";
  for (const CLI::App* command : commands_of(app)) {
    std::string options;
    std::string valued;
    std::string users;   // options whose value is a user: completed with user names
    std::string groups;  // and with group names
    bool has_name = false;
    for (const OptionLine& line : options_of(*command)) {
      for (const std::string& flag : line.flags) options += " " + flag;
      if (line.takes_value && !line.positional) {
        const std::string value = line.names.substr(line.names.rfind(' ') + 1);
        std::string& list = value == "USER" ? users : value == "GROUP" ? groups : valued;
        for (const std::string& flag : line.flags) list += "|" + flag;
      }
      if (line.positional && line.names == "NAME") has_name = true;
    }
    out += "    " + command->get_name() + ")\n";
    if (!valued.empty() || !users.empty() || !groups.empty()) {
      out += "      case $previous in\n";
      if (!users.empty())
        out += "        " + users.substr(1) + ") COMPREPLY=($(compgen -u -- \"$cur\")); return 0 ;;\n";
      if (!groups.empty())
        out += "        " + groups.substr(1) + ") COMPREPLY=($(compgen -g -- \"$cur\")); return 0 ;;\n";
      if (!valued.empty()) out += "        " + valued.substr(1) + ") return 0 ;;\n";
      out += "      esac\n";
    }
    if (command->get_name() == "help")
      out += "      words=" + shell_quoted(names.substr(1) + " exit-status" + options) + " ;;\n";
    else if (command->get_name() == "completion")
      out += "      words=" + shell_quoted("bash zsh" + options) + " ;;\n";
    else
      out += "      words=" + shell_quoted(options.empty() ? "" : options.substr(1)) +
             (has_name ? "; names=1" : "") + " ;;\n";
  }
  out +=
      "  esac\n"
      "  COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
      "  if [[ $names == 1 && $cur != -* ]]; then\n"
      "    # The names of this user's segments, from the command itself; the\n"
      "    # shared ones after --shared or an access option.\n"
      "    local namespace=\n"
      "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
      "      case ${COMP_WORDS[i]} in --shared|--allow-*|--creator) namespace=--shared ;; esac\n"
      "    done\n"
      "    COMPREPLY+=($(compgen -W \"$(" + program +
      " list $namespace 2>/dev/null | awk 'NR > 1 {print $1}')\" -- \"$cur\"))\n"
      "  fi\n"
      "}\n"
      "complete -F _" + program + " " + program + "\n";
  (void)doc;
  return out;
}

std::string zsh_completion(const CLI::App& app, const ProgramDoc& doc) {
  const std::string program = app.get_name();
  std::string out = "#compdef " + program + "\n# zsh completion for " + program +
                    " (generated by `" + program + " completion zsh`)\n"
                    "_" + program + "_segments() {\n"
                    "  local -a names\n"
                    "  local namespace=\n"
                    "  (( ${words[(I)(--shared|--allow-*|--creator)]} )) && namespace=--shared\n"
                    "  names=(${(f)\"$(" + program +
                    " list $namespace 2>/dev/null | awk 'NR > 1 {print $1}')\"})\n"
                    "  _describe 'segment' names\n"
                    "}\n"
                    "_" + program + "() {\n"
                    "  local -a commands\n"
                    "  commands=(\n";
  for (const CLI::App* command : commands_of(app))
    if (const CommandDoc* command_doc = doc.command(command->get_name()))
      out += "    " + shell_quoted(command->get_name() + ":" + zsh_text(command_doc->summary)) +
             "\n";
  out += "  )\n"
         "  if (( CURRENT == 2 )); then\n"
         "    _describe 'command' commands\n"
         "    return\n"
         "  fi\n"
         "  local command=$words[2]\n"
         "  shift words\n"
         "  (( CURRENT-- ))\n"
         "  case $command in\n";
  std::string names;
  for (const CLI::App* command : commands_of(app)) names += (names.empty() ? "" : " ") + command->get_name();
  for (const CLI::App* command : commands_of(app)) {
    out += "    " + command->get_name() + ")\n      _arguments";
    int position = 0;
    for (const OptionLine& line : options_of(*command)) {
      if (line.positional) {
        std::string action = " ";
        if (line.names == "NAME") action = "_" + program + "_segments";
        if (command->get_name() == "help") action = "(" + names + " exit-status)";
        if (command->get_name() == "completion") action = "(bash zsh)";
        out += " " + shell_quoted(std::to_string(++position) + ":" +
                                  zsh_text(line.description) + ":" + action);
        continue;
      }
      for (const std::string& flag : line.flags) {
        // A repeated option stays offered after its first use.
        std::string spec = (line.repeated ? "*" : "") + flag + "[" + zsh_text(line.description) + "]";
        if (line.takes_value) {
          const std::string value = line.names.substr(line.names.rfind(' ') + 1);
          spec += ":" + value + ":" + (value == "USER" ? "_users" : value == "GROUP" ? "_groups" : " ");
        }
        out += " " + shell_quoted(spec);
      }
    }
    out += " ;;\n";
  }
  out += "  esac\n}\n_" + program + " \"$@\"\n";
  return out;
}

std::optional<std::string> closest_word(const std::string& word,
                                        const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_distance = 3;  // nothing further than two edits away
  for (const std::string& candidate : candidates) {
    if (!word.empty() && candidate.rfind(word, 0) == 0) return candidate;  // a prefix
    const std::size_t distance = edit_distance(word, candidate);
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace sharedmem_cli
