# Embeds one file into the binary as a NUL-terminated byte array:
#   cmake -DIN=file -DOUT=file.c -DNAME=symbol -P embed_file.cmake
# defines `const char NAME[]` and `const unsigned long NAME_len` (bytes, without the NUL).
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR len "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE ${OUT} "/* Generated from ${IN} by cmake/embed_file.cmake. */\n"
     "extern const char ${NAME}[];\nextern const unsigned long ${NAME}_len;\n"
     "const char ${NAME}[] = {\n${bytes}0x00};\n"
     "const unsigned long ${NAME}_len = ${len};\n")
