// Builds .xlsx files part by part for the tests, with the XML that Excel itself writes, so that the
// reader is tested against hand-written workbooks rather than only against our own writer.
#pragma once

#include <zip.h>

#include <map>
#include <stdexcept>
#include <string>

namespace textune::testing {

/// Writes a zip archive holding `parts` (name -> content).
inline void write_zip(const std::string& path, const std::map<std::string, std::string>& parts) {
  int err = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!z) throw std::runtime_error("zip_open failed");
  for (const auto& [name, content] : parts) {
    zip_source_t* src = zip_source_buffer(z, content.data(), content.size(), 0);
    if (zip_file_add(z, name.c_str(), src, ZIP_FL_ENC_UTF_8) < 0) throw std::runtime_error("zip_file_add failed");
  }
  if (zip_close(z) != 0) throw std::runtime_error("zip_close failed");
}

constexpr const char* kMainNs = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";

/// A workbook with the given sheets (name -> sheetData inner XML), shared strings and styles.
/// `date1904`: the workbook uses the 1904 date system.
inline void write_workbook(const std::string& path, const std::vector<std::pair<std::string, std::string>>& sheets,
                           const std::vector<std::string>& shared_strings = {}, const std::string& styles_xml = "",
                           bool date1904 = false) {
  std::map<std::string, std::string> parts;
  std::string types =
      R"(<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/></Types>)";
  parts["[Content_Types].xml"] = types;
  parts["_rels/.rels"] =
      R"(<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>)";
  std::string wb = std::string(R"(<?xml version="1.0" encoding="UTF-8"?><workbook xmlns=")") + kMainNs +
                   R"(" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">)";
  if (date1904) wb += R"(<workbookPr date1904="1"/>)";
  wb += "<sheets>";
  std::string rels =
      R"(<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">)";
  for (size_t i = 0; i < sheets.size(); ++i) {
    const std::string id = "rId" + std::to_string(i + 10);
    wb += "<sheet name=\"" + sheets[i].first + "\" sheetId=\"" + std::to_string(i + 1) + "\" r:id=\"" + id + "\"/>";
    // Excel numbers sheets in creation order; name the parts in reverse to check relationships are followed.
    const std::string part = "worksheets/sheet" + std::to_string(sheets.size() - i) + ".xml";
    rels += "<Relationship Id=\"" + id +
            "\" Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet\" Target=\"" +
            part + "\"/>";
    parts["xl/" + part] = std::string(R"(<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns=")") + kMainNs +
                          "\"><sheetData>" + sheets[i].second + "</sheetData></worksheet>";
  }
  wb += "</sheets></workbook>";
  rels += "</Relationships>";
  parts["xl/workbook.xml"] = wb;
  parts["xl/_rels/workbook.xml.rels"] = rels;
  if (!shared_strings.empty()) {
    std::string sst = std::string(R"(<?xml version="1.0" encoding="UTF-8"?><sst xmlns=")") + kMainNs + "\">";
    for (const auto& s : shared_strings) sst += "<si>" + s + "</si>";
    parts["xl/sharedStrings.xml"] = sst + "</sst>";
  }
  if (!styles_xml.empty())
    parts["xl/styles.xml"] = std::string(R"(<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns=")") + kMainNs +
                             "\">" + styles_xml + "</styleSheet>";
  write_zip(path, parts);
}

}  // namespace textune::testing
