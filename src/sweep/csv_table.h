// csv_table.h -- the sweep's tables (plan.csv, results.csv, table.csv): RFC 4180 CSV with a
// header row, written atomically (temporary file, fsync, rename) and read back by column name.
#pragma once
#include <string>
#include <vector>

namespace plinth::sweep {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;

  int column(const std::string& name) const;   // -1 when absent
  // Value of a column in a row; Input error naming the column (and origin) when absent.
  const std::string& at(size_t row, const std::string& name) const;
  double number(size_t row, const std::string& name) const;   // NaN for an empty cell
  std::string origin;
};

std::string table_to_csv(const Table& t);
Table table_from_csv(const std::string& text, const std::string& origin);
void table_write(const std::string& path, const Table& t);   // atomic
Table table_read(const std::string& path);

// Shortest round-tripping text of a double ("%.17g" trimmed); "" for NaN.
std::string fmt_num(double v);

}  // namespace plinth::sweep
