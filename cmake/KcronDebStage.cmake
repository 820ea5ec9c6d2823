# CPack pre-build script for the Debian package: runs on the staged tree
# before it is packed.  Adds what Debian policy asks of a binary package
# and a plain "cmake --install" does not need:
#   - man pages compressed with gzip -9n (as dh_compress does);
#   - usr/share/doc/kinsta-cron/changelog.Debian.gz, from cmake/deb/changelog;
#   - the program without its .comment and .note sections (as dh_strip);
#   - lintian overrides, each with the reason.
set(_root "${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
set(_usr "${_root}${CPACK_PACKAGING_INSTALL_PREFIX}")

file(GLOB_RECURSE _pages "${_usr}/share/man/man[0-9]/*.[0-9]")
foreach(page ${_pages})
  execute_process(COMMAND gzip -9nf "${page}" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
endforeach()

set(_doc "${_usr}/share/doc/${CPACK_DEBIAN_PACKAGE_NAME}")
configure_file("${CPACK_KCRON_CHANGELOG}" "${_doc}/changelog.Debian" COPYONLY)
execute_process(COMMAND gzip -9nf "${_doc}/changelog.Debian" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip changelog.Debian failed")
endif()

# dh_strip also drops the compiler's .comment and .note sections.
execute_process(COMMAND "${CPACK_KCRON_STRIP}" --remove-section=.comment
                        --remove-section=.note "${_usr}/sbin/kinsta-cron"
                RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "strip ${_usr}/sbin/kinsta-cron failed")
endif()

file(WRITE "${_usr}/share/lintian/overrides/${CPACK_DEBIAN_PACKAGE_NAME}"
"# The API keys live here: root only on purpose.
${CPACK_DEBIAN_PACKAGE_NAME}: non-standard-dir-perm 0700 != 0755 [etc/kinsta-cron/credentials/]
# Not a Debian upload: the project packages kinsta-cron itself, so there
# is no ITP bug for the first changelog entry to close.
${CPACK_DEBIAN_PACKAGE_NAME}: initial-upload-closes-no-bugs [usr/share/doc/kinsta-cron/changelog.Debian.gz:1]
# systemd only: the daemon needs Type=notify, LoadCredential= and the
# unit's sandbox, which no SysV init script could give it.
${CPACK_DEBIAN_PACKAGE_NAME}: package-supports-alternative-init-but-no-init.d-script [lib/systemd/system/kinsta-cron.service]
")
