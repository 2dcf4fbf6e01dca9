FROM 127.0.0.1:5000/busybox:latest
ONBUILD RUN echo triggered-from-image > /onbuild-ran
ONBUILD COPY trigger.txt /from-trigger.txt
ONBUILD WORKDIR /triggered-workdir
ONBUILD ENV TRIGGERED=yes
CMD ["cat", "/onbuild-ran"]
