from eclipse-temurin:21-jdk-alpine as build
workdir /srv
copy . .
run javac -d out src/app/Main.java && jar cfe app.jar app.Main -C out .

from eclipse-temurin:21-jre-alpine
workdir /srv
copy --from=build /srv/app.jar /srv/app.jar
expose 9000
cmd ["java", "-jar", "/srv/app.jar"]
