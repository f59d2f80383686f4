FROM mcr.microsoft.com/dotnet/aspnet:8.0
USER 1654:1654
WORKDIR /app
COPY --chown=app:app --from=mcr.microsoft.com/dotnet/sdk:8.0 /usr/share/dotnet/LICENSE.txt ./
COPY --chown=app:app publish/ .
ENTRYPOINT ["dotnet", "Api.dll"]
