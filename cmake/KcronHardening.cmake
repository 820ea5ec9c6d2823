# Debian's hardening flags for a build meant for the system.
#
# KCRON_HARDENING compiles and links with what dpkg-buildflags gives a
# Debian package built with DEB_BUILD_MAINT_OPTIONS=hardening=+all:
# _FORTIFY_SOURCE=2, -fstack-protector-strong, -Wformat
# -Werror=format-security, -z relro, -z now (bindnow), and PIE.  It is on
# by default for a build that installs to /usr (the package, the README's
# install) when dpkg-buildflags is there, and off for the sanitizer and
# fuzzing builds, whose own instrumentation the fortified functions would
# bypass, and for Debug (-O0), where glibc's fortification does not work
# and says so.  -g and -O* from dpkg-buildflags are dropped: CMAKE_BUILD_TYPE
# decides those (the README's Release: -O3, no debug information).

find_program(KCRON_DPKG_BUILDFLAGS dpkg-buildflags)
mark_as_advanced(KCRON_DPKG_BUILDFLAGS)
set(_kcron_hardening_default OFF)
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND KCRON_DPKG_BUILDFLAGS
   AND NOT KCRON_SANITIZE AND NOT KCRON_FUZZ
   AND NOT CMAKE_BUILD_TYPE STREQUAL "Debug")
  set(_kcron_hardening_default ON)
endif()
option(KCRON_HARDENING
       "Build with Debian's hardening flags (dpkg-buildflags, hardening=+all)"
       ${_kcron_hardening_default})

if(KCRON_HARDENING)
  if(NOT KCRON_DPKG_BUILDFLAGS)
    message(FATAL_ERROR "KCRON_HARDENING needs dpkg-buildflags (dpkg-dev)")
  endif()
  set(_kcron_hardening_flags)
  foreach(kind CPPFLAGS CFLAGS LDFLAGS)
    # From the source folder: -ffile-prefix-map maps it to "." in the
    # debug information and in __FILE__, as in a Debian package build.
    execute_process(
      COMMAND ${CMAKE_COMMAND} -E env DEB_BUILD_MAINT_OPTIONS=hardening=+all
              ${KCRON_DPKG_BUILDFLAGS} --get ${kind}
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR}
      OUTPUT_VARIABLE _flags OUTPUT_STRIP_TRAILING_WHITESPACE
      RESULT_VARIABLE _rc)
    if(NOT _rc EQUAL 0)
      message(FATAL_ERROR "dpkg-buildflags --get ${kind} failed")
    endif()
    separate_arguments(_flags UNIX_COMMAND "${_flags}")
    list(FILTER _flags EXCLUDE REGEX "^-(g|O[0-9sgz]?)$")
    if(kind STREQUAL "LDFLAGS")
      add_link_options(${_flags})
    else()
      add_compile_options(${_flags})
    endif()
    list(APPEND _kcron_hardening_flags ${_flags})
  endforeach()
  set(CMAKE_POSITION_INDEPENDENT_CODE ON)
  include(CheckPIESupported)
  check_pie_supported()
  list(JOIN _kcron_hardening_flags " " _kcron_hardening_flags)
  message(STATUS "kinsta-cron: hardening: ${_kcron_hardening_flags} -fPIE -pie")
endif()
