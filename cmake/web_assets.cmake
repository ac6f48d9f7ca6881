# Embeds the chat page (src/server/web/) and the Debian-packaged libraries it loads into r1server, so that
# `r1 serve` needs nothing installed at run time. src/server/web/assets.txt lists what is embedded.
#
# Included from CMakeLists.txt it defines r1_add_web_assets(target); run as a script
# (cmake -DMANIFEST=.. -DWEB_DIR=.. -DOUTPUT=.. -P web_assets.cmake) it writes the generated C++ source.

# Reads the manifest into parallel lists <prefix>_URLS, <prefix>_FILES and <prefix>_TYPES (globs expanded), and
# stops with the Debian package to install when a file is missing.
function(r1_read_web_manifest manifest web_dir prefix)
  file(STRINGS "${manifest}" lines)
  set(urls "")
  set(files "")
  set(types "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^[ \t]*(#|$)")
      continue()
    endif()
    string(REGEX MATCHALL "[^ \t]+" fields "${line}")
    list(LENGTH fields n)
    if(NOT n EQUAL 4)
      message(FATAL_ERROR "${manifest}: expected 4 columns (url, package, source, type) in: ${line}")
    endif()
    list(GET fields 0 url)
    list(GET fields 1 package)
    list(GET fields 2 source)
    list(GET fields 3 type)
    if(NOT IS_ABSOLUTE "${source}")
      set(source "${web_dir}/${source}")
    endif()
    if(package STREQUAL "-")
      set(hint "")
    else()
      set(hint " (install the Debian package ${package}: scripts/setup.sh does)")
    endif()
    if(source MATCHES "\\*")
      file(GLOB matches "${source}")
      if(NOT matches)
        message(FATAL_ERROR "web page: no file matches ${source}${hint}")
      endif()
      list(SORT matches)
      foreach(match IN LISTS matches)
        get_filename_component(name "${match}" NAME)
        list(APPEND urls "${url}${name}")
        list(APPEND files "${match}")
        list(APPEND types "${type}")
      endforeach()
    else()
      if(NOT EXISTS "${source}")
        message(FATAL_ERROR "web page: ${source} is missing${hint}")
      endif()
      list(APPEND urls "${url}")
      list(APPEND files "${source}")
      list(APPEND types "${type}")
    endif()
  endforeach()
  set(${prefix}_URLS "${urls}" PARENT_SCOPE)
  set(${prefix}_FILES "${files}" PARENT_SCOPE)
  set(${prefix}_TYPES "${types}" PARENT_SCOPE)
endfunction()

# Writes OUTPUT: one string literal per file, spelled as \x escapes (so any byte, NUL included, survives), 32
# bytes a line, and the table web_assets.cc looks paths up in.
function(r1_write_web_assets_source manifest web_dir output)
  r1_read_web_manifest("${manifest}" "${web_dir}" web)
  string(REPEAT "[0-9a-f]" 64 line_of_hex)
  set(literals "")
  set(table "")
  set(index 0)
  foreach(url file type IN ZIP_LISTS web_URLS web_FILES web_TYPES)
    file(READ "${file}" hex HEX)
    string(LENGTH "${hex}" hex_length)
    math(EXPR size "${hex_length} / 2")
    string(REGEX REPLACE "(${line_of_hex})" "\\1\"\n    \"" hex "${hex}")
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "\\\\x\\1" hex "${hex}")
    # Every text file we embed is UTF-8 (the libraries are ASCII); say so, or browsers guess.
    if(type MATCHES "^text/")
      string(APPEND type "; charset=utf-8")
    endif()
    string(APPEND literals "// ${file}\nconstexpr char kFile${index}[] =\n    \"${hex}\";\n\n")
    string(APPEND table "    {\"${url}\", std::string_view(kFile${index}, ${size}), \"${type}\"},\n")
    math(EXPR index "${index} + 1")
  endforeach()
  file(WRITE "${output}.tmp"
       "// Generated at build time by cmake/web_assets.cmake from src/server/web/assets.txt. Do not edit.\n"
       "#include \"server/web_assets_data.h\"\n\n"
       "namespace r1::server {\nnamespace {\n\n${literals}"
       "constexpr EmbeddedWebAsset kAssets[] = {\n${table}};\n\n}  // namespace\n\n"
       "std::span<const EmbeddedWebAsset> embedded_web_assets() { return kAssets; }\n\n"
       "}  // namespace r1::server\n")
  # Rename into place so an interrupted build never leaves a truncated source that looks up to date.
  file(RENAME "${output}.tmp" "${output}")
endfunction()

# Adds the generated source to `target`, regenerated whenever the manifest, a page file or a library file changes.
function(r1_add_web_assets target)
  set(manifest "${CMAKE_SOURCE_DIR}/src/server/web/assets.txt")
  set(web_dir "${CMAKE_SOURCE_DIR}/src/server/web")
  set(output "${CMAKE_BINARY_DIR}/generated/web_assets_data.cc")
  # Re-run CMake when the manifest changes: the list of dependencies below comes from it.
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS "${manifest}")
  r1_read_web_manifest("${manifest}" "${web_dir}" web)
  add_custom_command(
    OUTPUT "${output}"
    COMMAND ${CMAKE_COMMAND} -DMANIFEST=${manifest} -DWEB_DIR=${web_dir} -DOUTPUT=${output}
            -P "${CMAKE_CURRENT_FUNCTION_LIST_FILE}"
    DEPENDS "${manifest}" ${web_FILES} "${CMAKE_CURRENT_FUNCTION_LIST_FILE}"
    COMMENT "Embedding the web page and its libraries"
    VERBATIM)
  target_sources(${target} PRIVATE "${output}")
endfunction()

if(CMAKE_SCRIPT_MODE_FILE)
  r1_write_web_assets_source("${MANIFEST}" "${WEB_DIR}" "${OUTPUT}")
endif()
