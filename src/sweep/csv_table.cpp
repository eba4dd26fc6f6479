// csv_table.cpp -- CSV quoting, parsing and atomic writes for the sweep tables.
#include "sweep/csv_table.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/error.h"
#include "io/fs_util.h"

namespace plinth::sweep {

int Table::column(const std::string& name) const {
  for (size_t i = 0; i < header.size(); ++i)
    if (header[i] == name) return static_cast<int>(i);
  return -1;
}

const std::string& Table::at(size_t row, const std::string& name) const {
  const int c = column(name);
  PLINTH_CHECK(c >= 0, Input, origin, ": no column '", name, "'");
  PLINTH_CHECK(row < rows.size() && static_cast<size_t>(c) < rows[row].size(), Input, origin, ": row ", row + 1,
               " has no value for column '", name, "'");
  return rows[row][static_cast<size_t>(c)];
}

double Table::number(size_t row, const std::string& name) const {
  const std::string& s = at(row, name);
  if (s.empty()) return std::numeric_limits<double>::quiet_NaN();
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  PLINTH_CHECK(end && *end == '\0', Input, origin, ": row ", row + 1, ", column '", name, "': '", s,
               "' is not a number");
  return v;
}

std::string fmt_num(double v) {
  if (std::isnan(v)) return "";
  char buf[40];
  for (int prec = 6; prec <= 17; ++prec) {   // shortest text that reads back exactly
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  return buf;
}

namespace {
std::string quote(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}
}  // namespace

std::string table_to_csv(const Table& t) {
  std::string out;
  auto line = [&](const std::vector<std::string>& cells) {
    for (size_t i = 0; i < cells.size(); ++i) out += (i ? "," : "") + quote(cells[i]);
    out += "\n";
  };
  line(t.header);
  for (const auto& r : t.rows) line(r);
  return out;
}

Table table_from_csv(const std::string& text, const std::string& origin) {
  Table t;
  t.origin = origin;
  std::vector<std::vector<std::string>> lines;
  std::vector<std::string> row;
  std::string cell;
  bool quoted = false, any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') cell += '"', ++i;
      else if (c == '"') quoted = false;
      else cell += c;
    } else if (c == '"') {
      quoted = true, any = true;
    } else if (c == ',') {
      row.push_back(cell), cell.clear(), any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !cell.empty()) row.push_back(cell), lines.push_back(row);
      row.clear(), cell.clear(), any = false;
    } else {
      cell += c, any = true;
    }
  }
  PLINTH_CHECK(!quoted, Input, origin, ": unterminated quoted field");
  if (any || !cell.empty()) row.push_back(cell), lines.push_back(row);
  PLINTH_CHECK(!lines.empty(), Input, origin, ": empty table (no header row)");
  t.header = lines.front();
  for (size_t i = 1; i < lines.size(); ++i) {
    PLINTH_CHECK(lines[i].size() == t.header.size(), Input, origin, ": line ", i + 1, " has ", lines[i].size(),
                 " fields, the header has ", t.header.size());
    t.rows.push_back(std::move(lines[i]));
  }
  return t;
}

void table_write(const std::string& path, const Table& t) { io::write_file_atomic(path, table_to_csv(t)); }

Table table_read(const std::string& path) { return table_from_csv(io::read_file(path), path); }

}  // namespace plinth::sweep
