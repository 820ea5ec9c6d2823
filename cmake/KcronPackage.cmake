# The Debian package: cpack -G DEB in a build tree configured with
# -DCMAKE_INSTALL_PREFIX=/usr (tests/package-test.sh does it all).
#
# Depends comes from dpkg-shlibdeps (the libraries the binary links) plus
# what the program loads or reads at run time: libcurl (dlopen, see
# below), CA certificates for HTTPS and the IANA zone files.  The
# maintainer scripts are in cmake/deb/.

# The same address as cmake/deb/changelog's and cmake/deb/copyright's.
# Build trees configured before kept the old default, a localhost
# address lintian rejects: forget it so that the new default applies.
if(KCRON_PACKAGE_MAINTAINER MATCHES "@localhost>$")
  unset(KCRON_PACKAGE_MAINTAINER CACHE)
endif()
set(KCRON_PACKAGE_MAINTAINER
    "kinsta-cron maintainers <maintainers@kinsta-cron.org>"
    CACHE STRING "Maintainer field of the Debian package")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kinsta-cron)
set(CPACK_PACKAGE_VENDOR kinsta-cron)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${KCRON_PACKAGE_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "scheduled maintenance jobs for Kinsta sites")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME kinsta-cron)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT) # kinsta-cron_0.1.0-1_amd64.deb
set(CPACK_DEBIAN_PACKAGE_RELEASE 1)
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KCRON_PACKAGE_MAINTAINER}")
# The summary above is the first line; this is the long description.
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
    "kinsta-cron is a small daemon that runs scheduled maintenance on Kinsta
sites through the Kinsta REST API: cache clears, PHP restarts, backups,
plugin and theme updates, environment pushes, deploys and reports. Jobs
are cron schedules in a libconfig file; the daemon follows every Kinsta
operation to its end, keeps to Kinsta's rate limits and logs each result
to syslog. It runs as a hardened systemd service and takes a new
configuration with systemctl reload.")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# daemon/http.c loads libcurl with dlopen (KCRON_CURL_SONAME), so
# dpkg-shlibdeps does not see it: name the package that holds that
# library.  7.16.3 is what dpkg-shlibdeps derived from libcurl4's symbols
# file for the functions http.c calls when the binary still linked them
# (curl_multi_socket_action is the newest).
if(NOT KCRON_CURL_PACKAGE)
  set(_kcron_curl_package libcurl4)
  execute_process(COMMAND dpkg-query -S "${CURL_LIBDIR}/${KCRON_CURL_SONAME}"
                  OUTPUT_VARIABLE _kcron_owner ERROR_QUIET
                  RESULT_VARIABLE _kcron_rc)
  if(_kcron_rc EQUAL 0 AND _kcron_owner MATCHES "^([^:,]+)")
    set(_kcron_curl_package "${CMAKE_MATCH_1}")
  endif()
  set(KCRON_CURL_PACKAGE "${_kcron_curl_package}" CACHE STRING
      "The Debian package of the libcurl that http.c loads")
endif()
# daemon/httpd.c loads libmicrohttpd (KCRON_MHD_SONAME) likewise, when
# the configuration has listen = { }: the HTTP face.
if(NOT KCRON_MHD_PACKAGE)
  set(_kcron_mhd_package libmicrohttpd12)
  find_library(_kcron_mhd_lib NAMES microhttpd HINTS ${MHD_LIBRARY_DIRS})
  get_filename_component(_kcron_mhd_dir "${_kcron_mhd_lib}" DIRECTORY)
  execute_process(COMMAND dpkg-query -S "${_kcron_mhd_dir}/${KCRON_MHD_SONAME}"
                  OUTPUT_VARIABLE _kcron_owner ERROR_QUIET
                  RESULT_VARIABLE _kcron_rc)
  if(_kcron_rc EQUAL 0 AND _kcron_owner MATCHES "^([^:,]+)")
    set(_kcron_mhd_package "${CMAKE_MATCH_1}")
  endif()
  set(KCRON_MHD_PACKAGE "${_kcron_mhd_package}" CACHE STRING
      "The Debian package of the libmicrohttpd that httpd.c loads")
endif()
# daemon/hmac.c loads libcrypto (KCRON_CRYPTO_SONAME) for Slack's
# signatures.
if(NOT KCRON_CRYPTO_PACKAGE)
  set(_kcron_crypto_package libssl3)
  find_library(_kcron_crypto_lib NAMES crypto HINTS ${CRYPTO_LIBRARY_DIRS})
  get_filename_component(_kcron_crypto_dir "${_kcron_crypto_lib}" DIRECTORY)
  execute_process(COMMAND dpkg-query -S "${_kcron_crypto_dir}/${KCRON_CRYPTO_SONAME}"
                  OUTPUT_VARIABLE _kcron_owner ERROR_QUIET
                  RESULT_VARIABLE _kcron_rc)
  if(_kcron_rc EQUAL 0 AND _kcron_owner MATCHES "^([^:,]+)")
    set(_kcron_crypto_package "${CMAKE_MATCH_1}")
  endif()
  set(KCRON_CRYPTO_PACKAGE "${_kcron_crypto_package}" CACHE STRING
      "The Debian package of the libcrypto that hmac.c loads")
endif()
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "${KCRON_CURL_PACKAGE} (>= 7.16.3), ${KCRON_MHD_PACKAGE}, ${KCRON_CRYPTO_PACKAGE}, ca-certificates, tzdata")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "systemd")

# conffiles: every file the package puts under /etc (dpkg keeps the
# administrator's version on upgrade and removes it only on purge).
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/deb/conffiles
     CONTENT "${KCRON_CONFDIR}/kinsta-cron.conf\n" @ONLY)
foreach(script postinst prerm postrm)
  configure_file(${CMAKE_CURRENT_LIST_DIR}/deb/${script}
                 ${PROJECT_BINARY_DIR}/deb/${script} @ONLY)
endforeach()
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/deb/conffiles ${PROJECT_BINARY_DIR}/deb/postinst
    ${PROJECT_BINARY_DIR}/deb/prerm ${PROJECT_BINARY_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# The changelog is checked in (cmake/deb/changelog); its newest entry must
# be this version, or the package would say one thing and be another.
file(STRINGS ${CMAKE_CURRENT_LIST_DIR}/deb/changelog _kcron_changelog_top
     LIMIT_COUNT 1)
set(_kcron_deb_version "${PROJECT_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}")
if(NOT _kcron_changelog_top MATCHES "^kinsta-cron \\(${_kcron_deb_version}\\) ")
  message(FATAL_ERROR "cmake/deb/changelog: the newest entry is not "
                      "${_kcron_deb_version}: add one for this version")
endif()

# Debian policy on the staged tree: compressed man pages, the changelog,
# binaries stripped as dh_strip does, lintian overrides (a plain install
# needs none of them).  The script sees only CPACK_* variables.
set(CPACK_KCRON_CHANGELOG ${CMAKE_CURRENT_LIST_DIR}/deb/changelog)
set(CPACK_KCRON_STRIP ${CMAKE_STRIP})
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/KcronDebStage.cmake)

include(CPack)
