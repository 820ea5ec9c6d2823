# Install rules: the layout of a Debian service (GNUInstallDirs).
#
#   sbin/kinsta-cron                       the program (in CMakeLists.txt)
#   <systemdsystemunitdir>/kinsta-cron.service
#   <sysconfdir>/kinsta-cron/kinsta-cron.conf, conf.d/, credentials/ (0700)
#   share/man/man5/kinsta-cron.conf.5, share/man/man8/kinsta-cron.8
#   share/doc/kinsta-cron/                 README, guides, examples/, copyright
#   share/bash-completion/completions/kinsta-cron
#
# Configure with -DCMAKE_INSTALL_PREFIX=/usr for a system install or a
# package (GNUInstallDirs then puts the configuration in /etc, where the
# program and the unit's ConfigurationDirectory= expect it).

# The unit folder comes from systemd's pkg-config file (/lib/systemd/system
# on Debian 12); it is absolute, so it does not move with the prefix.
if(NOT DEFINED KCRON_SYSTEMD_UNITDIR)
  pkg_get_variable(_kcron_unitdir systemd systemdsystemunitdir)
  if(NOT _kcron_unitdir)
    set(_kcron_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
  endif()
  set(KCRON_SYSTEMD_UNITDIR "${_kcron_unitdir}" CACHE PATH
      "Where kinsta-cron.service is installed (default: pkg-config systemd)")
endif()

set(KCRON_CONFDIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/kinsta-cron")
set(KCRON_DOCDIR "${CMAKE_INSTALL_FULL_DOCDIR}")
if(NOT KCRON_CONFDIR STREQUAL "/etc/kinsta-cron")
  message(STATUS "kinsta-cron: configuration installs to ${KCRON_CONFDIR} "
                 "(use -DCMAKE_INSTALL_PREFIX=/usr for /etc/kinsta-cron)")
endif()

# The unit in systemd/ names the Debian paths so that it can be verified as
# it is; the installed copy names the configured ones.
file(READ ${PROJECT_SOURCE_DIR}/systemd/kinsta-cron.service _kcron_unit)
string(REPLACE "/usr/sbin/kinsta-cron" "${CMAKE_INSTALL_FULL_SBINDIR}/kinsta-cron"
       _kcron_unit "${_kcron_unit}")
string(REPLACE "/etc/kinsta-cron/kinsta-cron.conf" "${KCRON_CONFDIR}/kinsta-cron.conf"
       _kcron_unit "${_kcron_unit}")
string(REPLACE "/etc/kinsta-cron/credentials" "${KCRON_CONFDIR}/credentials"
       _kcron_unit "${_kcron_unit}")
string(REPLACE "/usr/share/doc/kinsta-cron" "${KCRON_DOCDIR}"
       _kcron_unit "${_kcron_unit}")
file(CONFIGURE OUTPUT ${PROJECT_BINARY_DIR}/install/kinsta-cron.service
     CONTENT "${_kcron_unit}" @ONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
             ${PROJECT_SOURCE_DIR}/systemd/kinsta-cron.service)

install(FILES ${PROJECT_BINARY_DIR}/install/kinsta-cron.service
        DESTINATION ${KCRON_SYSTEMD_UNITDIR})

# Configuration: a file that passes "kinsta-cron check" once a key is in
# place and runs no job, the include folder, and a root-only key folder.
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/install/conf.d
     ${PROJECT_BINARY_DIR}/install/credentials)
install(FILES ${PROJECT_SOURCE_DIR}/systemd/etc/kinsta-cron.conf
        DESTINATION ${KCRON_CONFDIR})
install(DIRECTORY ${PROJECT_BINARY_DIR}/install/conf.d
        DESTINATION ${KCRON_CONFDIR})
install(DIRECTORY ${PROJECT_BINARY_DIR}/install/credentials
        DESTINATION ${KCRON_CONFDIR}
        DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE)

install(FILES ${PROJECT_SOURCE_DIR}/docs/kinsta-cron.conf.5
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/docs/kinsta-cron.8
        DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)

# bash-completion loads completions/<command> on the first <TAB>.
install(FILES ${PROJECT_SOURCE_DIR}/completion/kinsta-cron
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)

# Debian's machine-readable copyright file, for any install.
install(FILES ${PROJECT_SOURCE_DIR}/cmake/deb/copyright
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/README.md
              ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/schedules.md
              ${PROJECT_SOURCE_DIR}/docs/reports.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/conf/kinsta-cron.conf
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/conf/examples/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/systemd/examples/
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/systemd)

include(${CMAKE_CURRENT_LIST_DIR}/KcronPackage.cmake)
