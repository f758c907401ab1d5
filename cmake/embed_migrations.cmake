# Embeds migrations/*.sql into the binary so `alertcenter migrate` needs no
# files at run time. Each file becomes a NUL-terminated byte array.
# The numbered files are the migrations; functions.sql, the current definition
# of every SQL function, is embedded beside them (server/core/migrate.h).
file(GLOB AC_MIGRATION_FILES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/migrations/[0-9]*.sql)
list(SORT AC_MIGRATION_FILES)
set(AC_MIGRATIONS_C ${CMAKE_BINARY_DIR}/migrations_gen.c)
# A ";" list would be split into separate arguments of the command: use ",".
# (Migration file names must not contain commas.)
string(REPLACE ";" "," AC_MIGRATION_LIST "${AC_MIGRATION_FILES}")
add_custom_command(
    OUTPUT ${AC_MIGRATIONS_C}
    COMMAND ${CMAKE_COMMAND} -DOUT=${AC_MIGRATIONS_C} "-DFILES=${AC_MIGRATION_LIST}"
            -DFUNCTIONS=${CMAKE_SOURCE_DIR}/migrations/functions.sql
            -P ${CMAKE_SOURCE_DIR}/cmake/gen_migrations.cmake
    DEPENDS ${AC_MIGRATION_FILES} ${CMAKE_SOURCE_DIR}/migrations/functions.sql
            ${CMAKE_SOURCE_DIR}/cmake/gen_migrations.cmake
    COMMENT "Embedding SQL migrations"
    VERBATIM)
