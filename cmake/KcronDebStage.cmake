# CPack pre-build script for the Debian package: runs on the staged tree
# before it is packed.  Adds what Debian policy asks of a binary package
# and a plain "cmake --install" does not need:
#   - man pages compressed with gzip -9n (as dh_compress does);
#   - usr/share/doc/kinsta-cron/changelog.Debian.gz;
#   - a lintian override for the root-only credentials folder (0700).
set(_root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(_usr "${_root}${CPACK_PACKAGING_INSTALL_PREFIX}")

file(GLOB_RECURSE _pages "${_usr}/share/man/man[0-9]/*.[0-9]")
foreach(page ${_pages})
  execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
endforeach()

string(TIMESTAMP _date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(_doc "${_usr}/share/doc/${CPACK_DEBIAN_PACKAGE_NAME}")
file(WRITE "${_doc}/changelog.Debian"
"${CPACK_DEBIAN_PACKAGE_NAME} (${CPACK_PACKAGE_VERSION}-${CPACK_DEBIAN_PACKAGE_RELEASE}) unstable; urgency=medium

  * Built with cpack from the kinsta-cron source tree.

 -- ${CPACK_DEBIAN_PACKAGE_MAINTAINER}  ${_date}
")
execute_process(COMMAND gzip -9nf "${_doc}/changelog.Debian")

file(WRITE "${_usr}/share/lintian/overrides/${CPACK_DEBIAN_PACKAGE_NAME}"
"# The API keys live here: root only on purpose.
${CPACK_DEBIAN_PACKAGE_NAME}: non-standard-dir-perm 0700 != 0755 [etc/kinsta-cron/credentials/]
")
